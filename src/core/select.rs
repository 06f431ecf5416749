//! Waiting for the first of several futures, without an executor's help (`no_std`).

use ::core::future::{poll_fn, Future};
use ::core::pin::pin;
use ::core::task::Poll;

/// Which of two futures finished first, with its output.
#[derive(Debug, PartialEq, Eq)]
pub enum Either<A, B> {
    /// The first.
    Left(A),
    /// The second.
    Right(B),
}

/// Waits for whichever of `a` and `b` finishes first (`a` when both are ready) and drops the
/// other.
pub async fn first<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    poll_fn(|cx| {
        if let Poll::Ready(x) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(x));
        }
        if let Poll::Ready(y) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Right(y));
        }
        Poll::Pending
    })
    .await
}
