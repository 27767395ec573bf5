//! The Lambda log line: one flat JSON object per event, with the invocation's X-Ray trace id
//! and request id on every line, and the metrics record (CloudWatch EMF) folded in.
//!
//! `tracing_subscriber`'s JSON format cannot write a field as JSON (a value is always a string
//! or a number), and EMF needs its `_aws` object at the root of the same line: hence these few
//! lines. A field named [`EMF_FIELD`] is written as it is, without its name: the JSON members the
//! metrics module renders ([`super::metrics`]); every other value is escaped.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::span::Attributes;
use tracing::{Event, Id, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The field whose value is JSON members written as they are (the EMF record).
pub const EMF_FIELD: &str = "emf";

/// The span the Lambda runtime opens around each invocation (`lambda_runtime::layers::trace`,
/// 1.5), with the fields it records there.
const INVOCATION_SPAN: &str = "Lambda runtime invoke";

/// The invocation's ids, kept on the runtime's span (its extensions) by [`InvocationLayer`].
#[derive(Debug, Default)]
struct Invocation {
    trace_id: String,
    request_id: String,
}

impl Visit for Invocation {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "xrayTraceId" => value.clone_into(&mut self.trace_id),
            "requestId" => value.clone_into(&mut self.request_id),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "xrayTraceId" => self.trace_id = format!("{value:?}"),
            "requestId" => self.request_id = format!("{value:?}"),
            _ => {}
        }
    }
}

/// Keeps the X-Ray trace id (the runtime's `Lambda-Runtime-Trace-Id`) and the request id of the
/// invocation span, so that every line written inside it carries them.
pub struct InvocationLayer;

impl<S> tracing_subscriber::Layer<S> for InvocationLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != INVOCATION_SPAN {
            return;
        }
        let mut invocation = Invocation::default();
        attrs.record(&mut invocation);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(invocation);
        }
    }
}

/// The line format: `{"level":…, "message":…, <fields>, "span":…, "trace_id":…, "request_id":…}`.
pub struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "{{\"level\":\"{}\"", event.metadata().level())?;
        let mut fields = Fields {
            out: &mut writer,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        if let Some(scope) = ctx.event_scope() {
            let mut innermost = true;
            for span in scope {
                let extensions = span.extensions();
                if let Some(invocation) = extensions.get::<Invocation>() {
                    write_member(&mut writer, "trace_id", &invocation.trace_id)?;
                    write_member(&mut writer, "request_id", &invocation.request_id)?;
                    break;
                }
                if innermost {
                    // A store round trip's span (enabled by RUST_LOG): its name on the line.
                    write_member(&mut writer, "span", span.name())?;
                    innermost = false;
                }
            }
        }
        writer.write_str("}\n")
    }
}

/// `,"name":"value"`, the value escaped.
fn write_member(out: &mut Writer<'_>, name: &str, value: &str) -> fmt::Result {
    out.write_str(",\"")?;
    out.write_str(name)?;
    out.write_str("\":\"")?;
    Escaped(out).write_str(value)?;
    out.write_char('"')
}

/// Writes event fields as JSON members.
struct Fields<'w, 'a> {
    out: &'w mut Writer<'a>,
    result: fmt::Result,
}

impl Fields<'_, '_> {
    fn key(&mut self, field: &Field) -> fmt::Result {
        self.out.write_str(",\"")?;
        Escaped(self.out).write_str(field.name())?;
        self.out.write_str("\":")
    }

    fn number(&mut self, field: &Field, value: &dyn fmt::Display) {
        if self.result.is_ok() {
            self.result = self.key(field).and_then(|()| write!(self.out, "{value}"));
        }
    }
}

impl Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.result.is_ok() {
            self.result = self.key(field).and_then(|()| {
                self.out.write_char('"')?;
                Escaped(self.out).write_str(value)?;
                self.out.write_char('"')
            });
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        self.result = if field.name() == EMF_FIELD {
            // JSON members rendered by the metrics module, written as they are.
            self.out
                .write_char(',')
                .and_then(|()| write!(self.out, "{value:?}"))
        } else {
            self.key(field).and_then(|()| {
                self.out.write_char('"')?;
                write!(Escaped(self.out), "{value:?}")?;
                self.out.write_char('"')
            })
        };
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.number(field, &value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.number(field, &value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.number(field, &value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.number(field, &value);
        } else {
            self.record_str(field, &value.to_string());
        }
    }
}

/// A JSON string's contents: quotes, backslashes and control characters escaped.
struct Escaped<'w, W: fmt::Write>(&'w mut W);

impl<W: fmt::Write> fmt::Write for Escaped<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut plain = 0;
        for (at, byte) in text.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f => "",
                _ => continue,
            };
            self.0.write_str(&text[plain..at])?;
            if escape.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            plain = at + 1;
        }
        self.0.write_str(&text[plain..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_makes_json_strings() {
        for text in [
            "plain",
            "quote \" and \\ slash",
            "line\nbreak\ttab\r",
            "nul \u{0} \u{1f}",
            "é ✓",
        ] {
            let mut out = String::from("\"");
            Escaped(&mut out).write_str(text).expect("write");
            out.push('"');
            let back: String = serde_json::from_str(&out).expect(&out);
            assert_eq!(back, text);
        }
    }
}
