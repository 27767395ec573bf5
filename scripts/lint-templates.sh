#!/usr/bin/env bash
# Lints the SAM templates offline: cfn-lint, then a transform with the SAM translator (no AWS
# account or network needed). Installs both from PyPI when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
templates=(template.yaml deploy/template-httpapi.yaml)
python3 - <<'PY' 2>/dev/null || python3 -m pip install --quiet cfn-lint aws-sam-translator
import cfnlint, samtranslator  # noqa: F401
PY
python3 -c "import sys; from cfnlint.runner import main; sys.argv[0] = 'cfn-lint'; sys.exit(main())" "${templates[@]}"
python3 - "${templates[@]}" <<'PY'
import os, sys
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class OfflinePolicies:
    """The translator asks for AWS managed policy ARNs by name; these templates use none by name."""
    def load(self):
        return {}

for path in sys.argv[1:]:
    with open(path) as f:
        template = yaml_parse(f.read())
    # What `sam package` does: local code locations become S3 objects.
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://offline-lint/code.zip"
    params = {"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    output = transform(template, params, OfflinePolicies())
    problems = []
    for name, resource in output["Resources"].items():
        body = resource.get("Properties", {}).get("Body", {})
        if resource["Type"] == "AWS::ApiGateway::RestApi":
            # Every path a browser must preflight (credentials or a non-GET) has an open OPTIONS
            # method of its own: REST resources never fall back to a greedy sibling.
            for route, item in body.get("paths", {}).items():
                methods = {m: v for m, v in item.items() if isinstance(v, dict)}
                needs = any(
                    m != "options" and (m != "get" or v.get("security") != [{"NONE": []}])
                    for m, v in methods.items()
                )
                options = methods.get("options")
                if needs and (options is None or options.get("security") != [{"NONE": []}]):
                    problems.append(f"{name}: {route} has no open OPTIONS preflight")
        if resource["Type"] == "AWS::ApiGatewayV2::Api":
            # HTTP APIs: preflights are answered by API Gateway's CORS, never the authorizer.
            if "x-amazon-apigateway-cors" not in body:
                problems.append(f"{name}: no CorsConfiguration (the authorizer would refuse preflights)")
    if problems:
        sys.exit(f"{path}: " + "; ".join(problems))
    kinds = sorted({r["Type"] for r in output["Resources"].values()})
    print(f"{path}: transforms to {len(output['Resources'])} resources ({', '.join(kinds)})")
PY
