//! What the firmware reports of itself. (PLACEHOLDER: being written.)

/// One thing the firmware did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report<'a> {
    Sent(&'a [u8]),
}
