//! Content types in and out: `Content-Type` picks the parser, `Accept` the writer.

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT, CONTENT_TYPE};

use crate::error::ApiError;

/// A body format the server reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// `text/csv`.
    Csv,
    /// `application/json`.
    Json,
    /// `application/jsonlines` (also `application/x-jsonlines`, `application/jsonl`).
    JsonLines,
}

impl Media {
    /// The MIME type written in `Content-Type`.
    pub fn mime(self) -> &'static str {
        match self {
            Media::Csv => "text/csv",
            Media::Json => "application/json",
            Media::JsonLines => "application/jsonlines",
        }
    }

    fn parse(s: &str) -> Option<Media> {
        let essence = s.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "text/csv" | "text/x-csv" | "application/csv" => Some(Media::Csv),
            "application/json" | "text/json" => Some(Media::Json),
            "application/jsonlines"
            | "application/x-jsonlines"
            | "application/jsonl"
            | "application/x-ndjson"
            | "application/ndjson" => Some(Media::JsonLines),
            _ => None,
        }
    }
}

fn list(accepted: &[Media]) -> String {
    accepted.iter().map(|m| m.mime()).collect::<Vec<_>>().join(", ")
}

/// The request's body format, from `Content-Type`; `default` when the header is absent.
///
/// # Errors
/// 415 naming the content type and the accepted ones.
pub fn content_type(headers: &HeaderMap, accepted: &[Media], default: Media) -> Result<Media, ApiError> {
    let Some(raw) = headers.get(CONTENT_TYPE) else { return Ok(default) };
    let s = raw.to_str().unwrap_or("<not ASCII>");
    match Media::parse(s) {
        Some(m) if accepted.contains(&m) => Ok(m),
        _ => Err(ApiError::unsupported_media(s, &list(accepted))),
    }
}

/// The response format, from `Accept`: the first listed type this endpoint produces (`q`
/// weights are honoured only as far as ordering goes: q=0 excludes a type); `default` for a
/// missing header or `*/*`.
///
/// # Errors
/// 406 naming the Accept header and the produced types.
pub fn accept(headers: &HeaderMap, offered: &[Media], default: Media) -> Result<Media, ApiError> {
    let Some(raw) = headers.get(ACCEPT) else { return Ok(default) };
    let s = raw.to_str().unwrap_or("<not ASCII>");
    let mut wants: Vec<(f32, usize, &str)> = Vec::new();
    for (i, part) in s.split(',').enumerate() {
        let mut bits = part.split(';');
        let essence = bits.next().unwrap_or("").trim();
        let q = bits
            .filter_map(|p| p.trim().strip_prefix("q="))
            .filter_map(|q| q.parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        if q > 0.0 && !essence.is_empty() {
            wants.push((q, i, essence));
        }
    }
    wants.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, w) in wants {
        if w == "*/*"
            || w == "application/*" && default != Media::Csv
            || w == "text/*" && default == Media::Csv
        {
            return Ok(default);
        }
        if let Some(m) = Media::parse(w).filter(|m| offered.contains(m)) {
            return Ok(m);
        }
    }
    if s.trim().is_empty() {
        return Ok(default);
    }
    Err(ApiError::not_acceptable(s, &list(offered)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn h(name: axum::http::HeaderName, v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(name, HeaderValue::from_str(v).unwrap());
        m
    }

    #[test]
    fn content_type_with_parameters_and_refusal() {
        let all = [Media::Csv, Media::Json];
        assert_eq!(
            content_type(&h(CONTENT_TYPE, "text/csv; charset=utf-8"), &all, Media::Json).unwrap(),
            Media::Csv
        );
        assert_eq!(content_type(&HeaderMap::new(), &all, Media::Json).unwrap(), Media::Json);
        let e =
            content_type(&h(CONTENT_TYPE, "application/x-recordio-protobuf"), &all, Media::Csv).unwrap_err();
        assert_eq!(e.status.as_u16(), 415);
        assert!(e.message.contains("application/x-recordio-protobuf") && e.message.contains("text/csv"));
    }

    #[test]
    fn accept_negotiation() {
        let all = [Media::Csv, Media::Json, Media::JsonLines];
        assert_eq!(accept(&h(ACCEPT, "*/*"), &all, Media::Csv).unwrap(), Media::Csv);
        assert_eq!(accept(&h(ACCEPT, "application/jsonlines"), &all, Media::Csv).unwrap(), Media::JsonLines);
        assert_eq!(
            accept(&h(ACCEPT, "text/csv;q=0.5, application/json"), &all, Media::Csv).unwrap(),
            Media::Json
        );
        assert_eq!(accept(&h(ACCEPT, "text/html, text/csv;q=0.1"), &all, Media::Json).unwrap(), Media::Csv);
        assert_eq!(
            accept(&h(ACCEPT, "image/png").clone(), &all, Media::Json).unwrap_err().status.as_u16(),
            406
        );
    }
}
