//! Reading a response body under a size cap, without ever buffering more than the cap.

use std::error::Error as StdError;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Body;

use crate::TransportError;

/// The `Content-Length` a response declares, when it declares exactly one valid value.
pub(crate) fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    let mut values = headers.get_all(http::header::CONTENT_LENGTH).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    value.to_str().ok()?.trim().parse().ok()
}

/// Reads `body` to its end, failing with [`TransportError::BodyTooLarge`] as soon as the data
/// received exceeds `limit` (the offending frame is dropped, not appended). `size_hint` (the
/// declared length, if any) sizes the buffer, never beyond `limit`.
///
/// A body of one frame is returned without copying.
pub(crate) async fn read_limited<B>(
    mut body: B,
    limit: usize,
    size_hint: Option<u64>,
) -> Result<Bytes, TransportError>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: StdError + Send + Sync + 'static,
{
    let too_large = || TransportError::BodyTooLarge { limit };
    let mut received: usize = 0;
    let mut first: Option<Bytes> = None;
    let mut rest: Option<BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(TransportError::dispatch)?;
        // Trailers carry no body bytes; they are not part of the returned response.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        received = received
            .checked_add(data.len())
            .filter(|&n| n <= limit)
            .ok_or_else(too_large)?;
        if let Some(buffer) = rest.as_mut() {
            buffer.extend_from_slice(&data);
        } else if let Some(head) = first.take() {
            let hint = size_hint
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0)
                .min(limit);
            let mut buffer = BytesMut::with_capacity(hint.max(received));
            buffer.extend_from_slice(&head);
            buffer.extend_from_slice(&data);
            rest = Some(buffer);
        } else {
            first = Some(data);
        }
    }
    Ok(match (rest, first) {
        (Some(buffer), _) => buffer.freeze(),
        (None, Some(head)) => head,
        (None, None) => Bytes::new(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use hyper::body::Frame;

    use super::*;

    /// A body that yields the given frames in order.
    struct Frames(VecDeque<Frame<Bytes>>);

    impl Frames {
        fn data(chunks: &[&'static [u8]]) -> Self {
            Self(
                chunks
                    .iter()
                    .map(|c| Frame::data(Bytes::from_static(c)))
                    .collect(),
            )
        }
    }

    impl Body for Frames {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(Ok))
        }
    }

    fn read(body: Frames, limit: usize) -> Result<Bytes, TransportError> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(read_limited(body, limit, None))
    }

    #[test]
    fn collects_frames_up_to_and_including_the_limit() {
        assert_eq!(read(Frames::data(&[]), 0).unwrap(), Bytes::new());
        assert_eq!(read(Frames::data(&[b"abc"]), 3).unwrap(), "abc");
        let body = Frames::data(&[b"ab", b"", b"cd", b"e"]);
        assert_eq!(read(body, 5).unwrap(), "abcde");
    }

    #[test]
    fn one_byte_over_the_limit_fails() {
        let err = read(Frames::data(&[b"ab", b"cd", b"e"]), 4).unwrap_err();
        assert!(
            matches!(err, TransportError::BodyTooLarge { limit: 4 }),
            "{err}"
        );
        let err = read(Frames::data(&[b"x"]), 0).unwrap_err();
        assert!(err.is_body_too_large());
    }

    #[test]
    fn trailers_are_skipped() {
        let mut frames = Frames::data(&[b"ok"]);
        frames.0.push_back(Frame::trailers(http::HeaderMap::new()));
        assert_eq!(read(frames, 2).unwrap(), "ok");
    }

    #[test]
    fn declared_length_needs_one_valid_value() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(declared_length(&headers), None);
        headers.insert(http::header::CONTENT_LENGTH, "42".parse().unwrap());
        assert_eq!(declared_length(&headers), Some(42));
        headers.append(http::header::CONTENT_LENGTH, "42".parse().unwrap());
        assert_eq!(declared_length(&headers), None);
        headers.insert(http::header::CONTENT_LENGTH, "-1".parse().unwrap());
        assert_eq!(declared_length(&headers), None);
    }
}
