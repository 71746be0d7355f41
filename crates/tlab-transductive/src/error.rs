//! Errors of tlab-transductive.

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransductiveError {
    #[error(transparent)]
    Core(#[from] tlab_core::CoreError),
    #[error("invalid parameter `{name}` = {value}: {expected}")]
    InvalidParam {
        name: &'static str,
        value: String,
        expected: String,
    },
    #[error("{method}: {detail}")]
    Data {
        method: &'static str,
        detail: String,
    },
}

pub type Result<T, E = TransductiveError> = std::result::Result<T, E>;

pub(crate) fn invalid(
    name: &'static str,
    value: impl ToString,
    expected: impl Into<String>,
) -> TransductiveError {
    TransductiveError::InvalidParam {
        name,
        value: value.to_string(),
        expected: expected.into(),
    }
}
