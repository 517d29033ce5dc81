//! Identifier helpers. Ids are opaque, case-sensitive strings; these make the SDK's own.

use uuid::Uuid;

fn prefixed(prefix: &str) -> String {
    let mut buf = Uuid::encode_buffer();
    let uuid = Uuid::new_v4().hyphenated().encode_lower(&mut buf);
    let mut id = String::with_capacity(prefix.len() + uuid.len());
    id.push_str(prefix);
    id.push_str(uuid);
    id
}

/// A fresh request id, `req-<uuid v4>`.
#[must_use]
pub fn new_request_id() -> String {
    prefixed("req-")
}

/// A fresh message id, `msg-<uuid v4>`.
#[must_use]
pub fn new_msg_id() -> String {
    prefixed("msg-")
}

/// A fresh acknowledgement message id, `ack-<uuid v4>`.
#[must_use]
pub fn new_ack_id() -> String {
    prefixed("ack-")
}
