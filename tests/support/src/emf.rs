//! CloudWatch Embedded Metric Format, checked as the specification states it
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>):
//! a root `_aws` object with an integer `Timestamp` (ms) and a non-empty `CloudWatchMetrics`
//! array of directives; each directive a non-empty `Namespace`, `Dimensions` (an array of
//! dimension sets, each an array of at most 30 member names, each a string member at the root)
//! and `Metrics` (at most 100 `{Name, Unit?}`, each Name a number, or an array of at most 100
//! numbers, at the root; Unit one of CloudWatch's units).

use serde_json::{Map, Value};

/// CloudWatch's units (`MetricDatum.Unit`).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// One checked record: what it declares.
#[derive(Debug, Default)]
pub struct Record {
    /// Each directive's namespace.
    pub namespaces: Vec<String>,
    /// Every dimension set, as member names.
    pub dimension_sets: Vec<Vec<String>>,
    /// Every metric: name, unit, value.
    pub metrics: Vec<(String, String, f64)>,
}

impl Record {
    /// A metric's value, when declared.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.metrics.iter().find(|m| m.0 == name).map(|m| m.2)
    }
}

/// Checks one log line (a JSON object) against the specification; `Ok(None)` when it carries
/// no `_aws` member (not a record).
pub fn check(line: &Value) -> Result<Option<Record>, String> {
    let root = line.as_object().ok_or("not a JSON object")?;
    let Some(aws) = root.get("_aws") else {
        return Ok(None);
    };
    let aws = aws.as_object().ok_or("_aws is not an object")?;
    let timestamp = aws
        .get("Timestamp")
        .and_then(Value::as_u64)
        .ok_or("_aws.Timestamp is not a whole number")?;
    // Milliseconds since the epoch: after 2020, not in the next century.
    if !(1_577_836_800_000..4_102_444_800_000).contains(&timestamp) {
        return Err(format!(
            "_aws.Timestamp {timestamp} is not epoch milliseconds"
        ));
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
        .ok_or("_aws.CloudWatchMetrics is not a non-empty array")?;
    let mut record = Record::default();
    for directive in directives {
        check_directive(root, directive, &mut record)?;
    }
    Ok(Some(record))
}

fn check_directive(
    root: &Map<String, Value>,
    directive: &Value,
    record: &mut Record,
) -> Result<(), String> {
    let namespace = directive
        .get("Namespace")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty() && n.len() <= 1024)
        .ok_or("a directive's Namespace is not a non-empty string")?;
    record.namespaces.push(namespace.to_owned());
    let sets = directive
        .get("Dimensions")
        .and_then(Value::as_array)
        .ok_or("a directive's Dimensions is not an array")?;
    for set in sets {
        let set = set.as_array().ok_or("a dimension set is not an array")?;
        if set.len() > 30 {
            return Err("a dimension set has more than 30 dimensions".into());
        }
        let mut names = Vec::new();
        for name in set {
            let name = name.as_str().ok_or("a dimension name is not a string")?;
            let value = root.get(name).and_then(Value::as_str).ok_or(format!(
                "dimension {name} is not a string member at the root"
            ))?;
            if value.is_empty() || value.len() > 1024 {
                return Err(format!("dimension {name}'s value is empty or too long"));
            }
            names.push(name.to_owned());
        }
        record.dimension_sets.push(names);
    }
    let metrics = directive
        .get("Metrics")
        .and_then(Value::as_array)
        .ok_or("a directive's Metrics is not an array")?;
    if metrics.len() > 100 {
        return Err("more than 100 metrics in a directive".into());
    }
    for metric in metrics {
        let name = metric
            .get("Name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty() && n.len() <= 1024)
            .ok_or("a metric's Name is not a non-empty string")?;
        let unit = match metric.get("Unit") {
            None => "None",
            Some(unit) => unit
                .as_str()
                .filter(|u| UNITS.contains(u))
                .ok_or(format!("metric {name}'s Unit is not a CloudWatch unit"))?,
        };
        let value = match root.get(name) {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::Array(values)) if !values.is_empty() && values.len() <= 100 => {
                values.iter().map(Value::as_f64).sum()
            }
            _ => None,
        }
        .ok_or(format!("metric {name} is not a number at the root"))?;
        if record.dimension_sets.iter().flatten().any(|d| d == name) {
            return Err(format!("{name} is both a dimension and a metric"));
        }
        record
            .metrics
            .push((name.to_owned(), unit.to_owned(), value));
    }
    Ok(())
}

/// Every line of `logs` that is a record, checked (panics, naming the line, on the first that
/// breaks the specification or is not JSON).
pub fn records(logs: &str) -> Vec<(Value, Record)> {
    let mut found = Vec::new();
    for line in logs.lines().filter(|l| l.starts_with('{')) {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        match check(&value) {
            Ok(Some(record)) => found.push((value, record)),
            Ok(None) => {}
            Err(error) => panic!("not an EMF record: {error}: {line}"),
        }
    }
    found
}
