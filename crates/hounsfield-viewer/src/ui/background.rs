//! A keyed background cache (rerun's promise/cache pattern): a value that is
//! expensive to compute (a whole-volume projection, a projection of the
//! segment labels) is computed on the rayon pool, never in draw code. Until
//! the value for the wanted key is ready, the last finished value (for an
//! older key) stays on screen; the worker asks egui for a repaint when it is
//! done. A newer key supersedes a pending computation: its result, when it
//! arrives, is dropped unseen.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

/// One cached value, its key, and at most one computation in flight.
pub struct Keyed<K, V> {
    shown: Option<(K, Arc<V>)>,
    pending: Option<(K, Receiver<V>)>,
}

impl<K, V> Default for Keyed<K, V> {
    fn default() -> Self {
        Self {
            shown: None,
            pending: None,
        }
    }
}

impl<K: PartialEq + Clone, V: Send + 'static> Keyed<K, V> {
    /// The latest finished value and its key: the one for `key` once it is
    /// ready, the previous one until then (`None` before the first value).
    /// Starts `compute` for `key` on the rayon pool when neither the shown
    /// nor the pending value is for `key`; `repaint` runs on the worker when
    /// the value is ready.
    pub fn get(
        &mut self,
        key: &K,
        repaint: impl FnOnce() + Send + 'static,
        compute: impl FnOnce() -> V + Send + 'static,
    ) -> Option<(&K, &Arc<V>)> {
        self.collect();
        let shown_is_current = self.shown.as_ref().is_some_and(|(k, _)| k == key);
        let pending_is_current = self.pending.as_ref().is_some_and(|(k, _)| k == key);
        if !shown_is_current && !pending_is_current {
            let (tx, rx) = sync_channel(1);
            rayon::spawn(move || {
                // A superseded computation finds its receiver gone: fine.
                if tx.send(compute()).is_ok() {
                    repaint();
                }
            });
            self.pending = Some((key.clone(), rx));
        }
        self.shown.as_ref().map(|(k, v)| (k, v))
    }

    /// The latest finished value and its key, starting nothing.
    pub fn shown(&self) -> Option<(&K, &Arc<V>)> {
        self.shown.as_ref().map(|(k, v)| (k, v))
    }

    /// True while a computation is in flight (or finished but not yet
    /// taken by [`Keyed::get`]).
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Take a finished computation's value, if any.
    fn collect(&mut self) {
        let Some((_, rx)) = &self.pending else {
            return;
        };
        match rx.try_recv() {
            Ok(v) => {
                if let Some((k, _)) = self.pending.take() {
                    self.shown = Some((k, Arc::new(v)));
                }
            }
            Err(TryRecvError::Empty) => {}
            // The worker panicked: nothing will come; a later key retries.
            Err(TryRecvError::Disconnected) => self.pending = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    fn settle<K: PartialEq + Clone, V: Send + 'static>(c: &mut Keyed<K, V>) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            c.collect();
            if !c.is_pending() {
                return;
            }
            assert!(Instant::now() < deadline, "the computation never finished");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn the_last_value_stays_until_the_new_one_is_ready() {
        let mut c: Keyed<u32, u32> = Keyed::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let count = |runs: &Arc<AtomicUsize>| {
            let r = Arc::clone(runs);
            move || {
                r.fetch_add(1, Ordering::Relaxed);
            }
        };
        assert!(c.get(&1, count(&runs), || 10).is_none(), "nothing yet");
        settle(&mut c);
        assert_eq!(
            c.get(&1, || {}, || unreachable!()).map(|(k, v)| (*k, **v)),
            Some((1, 10))
        );
        assert_eq!(runs.load(Ordering::Relaxed), 1, "repaint asked once");

        // A new key: the old value is shown until the new one arrives.
        let (gate_tx, gate_rx) = sync_channel::<()>(0);
        let shown = c.get(
            &2,
            || {},
            move || {
                gate_rx.recv().ok();
                20
            },
        );
        assert_eq!(shown.map(|(k, v)| (*k, **v)), Some((1, 10)));
        // Asking again for the pending key starts nothing new.
        assert_eq!(
            c.get(&2, || {}, || unreachable!()).map(|(k, _)| *k),
            Some(1)
        );
        gate_tx.send(()).ok();
        settle(&mut c);
        assert_eq!(
            c.get(&2, || {}, || unreachable!()).map(|(k, v)| (*k, **v)),
            Some((2, 20))
        );
    }

    #[test]
    fn a_newer_key_supersedes_a_pending_one() {
        let mut c: Keyed<u32, u32> = Keyed::default();
        let (gate_tx, gate_rx) = sync_channel::<()>(0);
        c.get(
            &1,
            || {},
            move || {
                gate_rx.recv().ok();
                10
            },
        );
        c.get(&2, || {}, || 20);
        gate_tx.send(()).ok();
        settle(&mut c);
        assert_eq!(
            c.get(&2, || {}, || unreachable!()).map(|(k, v)| (*k, **v)),
            Some((2, 20))
        );
    }
}
