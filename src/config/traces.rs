//! The standard OpenTelemetry variables (`OTEL_*`) the server honours for
//! its traces: where to export them, under which service name, and which
//! to keep. Traces are off when no endpoint is set.

use super::parse::{ConfigError, Env};

/// Which traces are recorded and exported (`OTEL_TRACES_SAMPLER` and
/// `OTEL_TRACES_SAMPLER_ARG`, as the OpenTelemetry specification names them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampler {
    /// `always_on`: every trace.
    AlwaysOn,
    /// `always_off`: none.
    AlwaysOff,
    /// `traceidratio`: this fraction of traces, by trace id.
    Ratio(f64),
    /// `parentbased_always_on` (the default): the caller's decision when a
    /// `traceparent` came with the request, else every trace.
    ParentBasedAlwaysOn,
    /// `parentbased_always_off`: the caller's decision, else none.
    ParentBasedAlwaysOff,
    /// `parentbased_traceidratio`: the caller's decision, else this
    /// fraction of traces.
    ParentBasedRatio(f64),
}

/// Traces (`telemetry`).
#[derive(Debug, Clone, PartialEq)]
pub struct Traces {
    /// Where spans go over OTLP/HTTP: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
    /// as it is, or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`. `None`:
    /// traces are off.
    pub endpoint: Option<String>,
    /// `OTEL_SERVICE_NAME`: the `service.name` of every span.
    pub service_name: String,
    /// `OTEL_TRACES_SAMPLER` (and `_ARG`).
    pub sampler: Sampler,
}

impl Traces {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let endpoint = match env.optional("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            Some(url) => Some(url),
            None => env
                .optional("OTEL_EXPORTER_OTLP_ENDPOINT")
                .map(|base| format!("{}/v1/traces", base.trim_end_matches('/'))),
        };
        if let Some(url) = &endpoint
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::of(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "must be an http:// or https:// URL (traces go over OTLP/HTTP)",
            ));
        }
        // Only OTLP over HTTP with protobuf is built in; saying otherwise
        // is a mistake worth stopping for, not a silent change of protocol.
        for name in [
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        ] {
            if let Some(protocol) = env.optional(name)
                && protocol != "http/protobuf"
            {
                return Err(ConfigError::of(
                    name,
                    format!("{protocol:?} is not supported: only http/protobuf"),
                ));
            }
        }
        Ok(Self {
            endpoint,
            service_name: env.text("OTEL_SERVICE_NAME", "commerce"),
            sampler: sampler(env)?,
        })
    }
}

fn sampler(env: &Env) -> Result<Sampler, ConfigError> {
    // Read whatever the sampler, checked only by those that take a ratio.
    let arg = env.optional("OTEL_TRACES_SAMPLER_ARG");
    let ratio = || -> Result<f64, ConfigError> {
        let ratio: f64 = arg.as_deref().unwrap_or("1.0").parse().map_err(|_| {
            ConfigError::of("OTEL_TRACES_SAMPLER_ARG", "must be a number from 0 to 1")
        })?;
        if !(0.0..=1.0).contains(&ratio) {
            return Err(ConfigError::of(
                "OTEL_TRACES_SAMPLER_ARG",
                "must be a ratio from 0 to 1",
            ));
        }
        Ok(ratio)
    };
    Ok(
        match env
            .text("OTEL_TRACES_SAMPLER", "parentbased_always_on")
            .as_str()
        {
            "always_on" => Sampler::AlwaysOn,
            "always_off" => Sampler::AlwaysOff,
            "traceidratio" => Sampler::Ratio(ratio()?),
            "parentbased_always_on" => Sampler::ParentBasedAlwaysOn,
            "parentbased_always_off" => Sampler::ParentBasedAlwaysOff,
            "parentbased_traceidratio" => Sampler::ParentBasedRatio(ratio()?),
            other => {
                return Err(ConfigError::of(
                    "OTEL_TRACES_SAMPLER",
                    format!(
                        "{other:?} is not one of always_on, always_off, traceidratio, \
                         parentbased_always_on, parentbased_always_off, parentbased_traceidratio"
                    ),
                ));
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::Sampler;
    use crate::config::tests::config;

    #[test]
    fn traces_are_off_without_an_endpoint_and_parent_based_by_default() {
        let traces = config(&[]).unwrap().traces;
        assert_eq!(traces.endpoint, None);
        assert_eq!(traces.service_name, "commerce");
        assert_eq!(traces.sampler, Sampler::ParentBasedAlwaysOn);
    }

    #[test]
    fn the_endpoint_is_the_base_plus_the_traces_path_unless_given_whole() {
        let base = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]);
        assert_eq!(
            base.unwrap().traces.endpoint.as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        let whole = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://other:9999/traces",
            ),
        ]);
        assert_eq!(
            whole.unwrap().traces.endpoint.as_deref(),
            Some("http://other:9999/traces")
        );
        assert!(config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")]).is_err());
        assert!(config(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).is_err());
        assert!(config(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]).is_ok());
    }

    #[test]
    fn samplers_follow_the_specification_s_names() {
        let of = |vars: &[(&str, &str)]| config(vars).map(|c| c.traces.sampler);
        assert_eq!(
            of(&[
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
            ])
            .unwrap(),
            Sampler::ParentBasedRatio(0.1)
        );
        assert_eq!(
            of(&[("OTEL_TRACES_SAMPLER", "always_off")]).unwrap(),
            Sampler::AlwaysOff
        );
        for bad in [
            [("OTEL_TRACES_SAMPLER", "sometimes"), ("X", "")],
            [
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
            ],
            [
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "half"),
            ],
        ] {
            assert!(of(&bad).is_err(), "{bad:?}");
        }
    }
}
