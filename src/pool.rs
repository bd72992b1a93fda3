//! Bounded parallel work on scoped threads: at most `workers` threads (the calling one among
//! them), each taking the next item as soon as it finishes one, so no item waits for a slower
//! neighbour and no item gets a thread of its own. Used where work blocks on I/O (registry
//! requests, git fetches); CPU-bound work uses rayon.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// `f` of every item, in the items' order.
pub fn map<I: Sync, T: Send>(items: &[I], workers: usize, f: impl Fn(&I) -> T + Sync) -> Vec<T> {
    let never = AtomicBool::new(false);
    run(items, workers, &never, |item| Some(f(item)))
        .into_iter()
        .flatten()
        .collect()
}

/// `f` of the items in order until one fails: after a failure no further item starts. Returns
/// the outcomes of the items that ran, in the items' order, so the first error met is that of
/// the lowest failed item.
pub fn try_map<I: Sync, T: Send, E: Send>(
    items: &[I],
    workers: usize,
    f: impl Fn(&I) -> Result<T, E> + Sync,
) -> Result<Vec<T>, E> {
    let failed = AtomicBool::new(false);
    let outcomes = run(items, workers, &failed, |item| {
        let outcome = f(item);
        if outcome.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        Some(outcome)
    });
    outcomes.into_iter().flatten().collect()
}

/// One slot per item, filled by whichever worker took it; None for items never started.
fn run<I: Sync, T: Send>(
    items: &[I],
    workers: usize,
    stop: &AtomicBool,
    f: impl Fn(&I) -> Option<T> + Sync,
) -> Vec<Option<T>> {
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<T>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let work = || {
        while !stop.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let (Some(item), Some(slot)) = (items.get(i), slots.get(i)) else {
                break;
            };
            let outcome = f(item);
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = outcome;
        }
    };
    match workers.min(items.len()) {
        0 | 1 => work(),
        n => std::thread::scope(|s| {
            for _ in 1..n {
                s.spawn(work);
            }
            work();
        }),
    }
    slots
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn results_keep_the_items_order() {
        let items: Vec<u64> = (0..50).collect();
        let out = map(&items, 4, |i| {
            std::thread::sleep(Duration::from_millis(50 - i));
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_slow_item_does_not_hold_back_the_others() {
        // Item 0 finishes only once the 30 others are done: with 2 workers that happens only if
        // the other worker takes item after item meanwhile (in groups it would wait forever;
        // the deadline turns that into a failure).
        let items: Vec<u64> = (0..31).collect();
        let done = AtomicUsize::new(0);
        let out = map(&items, 2, |&i| {
            if i > 0 {
                done.fetch_add(1, Ordering::SeqCst);
                return true;
            }
            let deadline = Instant::now() + Duration::from_secs(20);
            while done.load(Ordering::SeqCst) < 30 {
                if Instant::now() > deadline {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            true
        });
        assert!(out.iter().all(|&ok| ok));
    }

    #[test]
    fn two_thousand_items_run_on_at_most_the_workers_threads() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let threads = std::sync::Mutex::new(std::collections::HashSet::new());
        let items: Vec<usize> = (0..2000).collect();
        let out = map(&items, 4, |i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            threads.lock().unwrap().insert(std::thread::current().id());
            running.fetch_sub(1, Ordering::SeqCst);
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(most.load(Ordering::SeqCst) <= 4);
        assert!(threads.lock().unwrap().len() <= 4, "2,000 items, at most 4 threads");
        assert_eq!(map(&[7], 4, |&i| i), vec![7], "one item needs no thread");
    }

    #[test]
    fn no_item_starts_after_a_failure() {
        let items: Vec<u32> = (0..100).collect();
        let ran = AtomicUsize::new(0);
        let out = try_map(&items, 1, |&i| {
            ran.fetch_add(1, Ordering::Relaxed);
            if i == 3 { Err(i) } else { Ok(i) }
        });
        assert_eq!(out, Err(3));
        assert_eq!(ran.load(Ordering::Relaxed), 4);
    }
}
