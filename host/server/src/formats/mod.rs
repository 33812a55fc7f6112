//! Request bodies → rows, through the shared host layer (`scorekit_host::formats`): the server
//! only picks the format from the HTTP content type. Whether `"415"` is a valid `area_code` is for
//! the model to decide, so every host reports bad values with the same words.

pub mod media;

use scorekit_host::formats::{csv, json};
use scorekit_host::{BatchBuilder, InputPolicy, ModelInfo, Rows, Schema};

use crate::error::ApiError;

/// Rows from a body in `media` for the model `info` describes, under `policy`, numbered from
/// `row_base + 1` (a batch that continues another): sent already encoded by the model's own
/// rules while every value allows it (`BatchBuilder::for_model`).
///
/// # Errors
/// 400 naming the row (from 1) and column, or the line of malformed text.
pub fn rows_for_model(
    media: media::Media,
    body: &[u8],
    info: &ModelInfo,
    policy: InputPolicy,
    row_base: usize,
) -> Result<Rows, ApiError> {
    fill(media, body, BatchBuilder::for_model(info, policy).with_row_base(row_base)?)
}

/// Rows from a body in `media`, for `schema` under `policy`, as tagged cells (what a stream step
/// takes).
///
/// # Errors
/// As [`rows_for_model`].
pub fn rows_from_body(
    media: media::Media,
    body: &[u8],
    schema: &Schema,
    policy: InputPolicy,
) -> Result<Rows, ApiError> {
    fill(media, body, BatchBuilder::new(schema, policy))
}

fn fill(media: media::Media, body: &[u8], mut b: BatchBuilder<'_>) -> Result<Rows, ApiError> {
    match media {
        media::Media::Csv => csv::push_body(&mut b, body, csv::Header::Auto)?,
        media::Media::Json => json::push_document(&mut b, &json::parse(body)?, false)?,
        media::Media::JsonLines => json::push_lines(&mut b, body)?,
    }
    Ok(b.finish())
}
