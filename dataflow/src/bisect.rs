//! The one bisection both depth searches use.

/// Smallest `k` in `lo..=hi` with `ok(k)`, given that `ok(hi)` holds and
/// `ok` is monotone (false below some depth, true from it on).
pub(crate) fn bisect<E>(
    mut lo: usize,
    mut hi: usize,
    mut ok: impl FnMut(usize) -> Result<bool, E>,
) -> Result<usize, E> {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if ok(mid)? {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(hi)
}
