//! A hash map with a hard limit on keys that evicts the coldest (least recently touched) eighth when
//! it is full, so a flood of unique keys costs a bounded amount of memory and amortised O(1) per
//! insert.

use std::collections::HashMap;
use std::hash::Hash;

#[derive(Debug)]
pub struct Table<K, V> {
    map: HashMap<K, (i64, V)>,
    cap: usize,
    evicted: u64,
}

impl<K: Hash + Eq + Clone, V> Table<K, V> {
    pub fn new(cap: usize) -> Table<K, V> {
        Table { map: HashMap::new(), cap: cap.max(8), evicted: 0 }
    }

    /// The value of `key`, created by `init` when absent (evicting first when full); `at` marks it
    /// touched at that traffic time.
    pub fn touch(&mut self, key: &K, at: i64, init: impl FnOnce() -> V) -> &mut V {
        if !self.map.contains_key(key) && self.map.len() >= self.cap {
            self.evict_coldest();
        }
        let e = self.map.entry(key.clone()).or_insert_with(|| (at, init()));
        e.0 = e.0.max(at);
        &mut e.1
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key).map(|e| &mut e.1)
    }

    #[cfg(test)]
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|e| &e.1)
    }

    /// Drops the coldest eighth of the keys (at least one).
    fn evict_coldest(&mut self) {
        let n = (self.map.len() / 8).max(1);
        let mut times: Vec<i64> = self.map.values().map(|e| e.0).collect();
        let (_, &mut cut, _) = times.select_nth_unstable(n - 1);
        // Keys touched strictly before `cut` go, then keys at `cut` until `n` are gone.
        let mut at_cut = n - times.iter().filter(|t| **t < cut).count();
        let before = self.map.len();
        self.map.retain(|_, e| {
            if e.0 < cut {
                false
            } else if e.0 == cut && at_cut > 0 {
                at_cut -= 1;
                false
            } else {
                true
            }
        });
        self.evicted += (before - self.map.len()) as u64;
    }

    /// Drops keys not touched since `before` (traffic time).
    pub fn expire(&mut self, before: i64) {
        self.map.retain(|_, e| e.0 >= before);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values().map(|e| &e.1)
    }

    /// Bytes of the table itself (keys, values, stamps, control bytes), without what values own.
    pub fn shallow_bytes(&self) -> usize {
        self.map.capacity() * (std::mem::size_of::<(K, (i64, V))>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn full_table_evicts_the_coldest() {
        let mut t: Table<u32, ()> = Table::new(16);
        for k in 0..16 {
            t.touch(&k, i64::from(k), || ());
        }
        t.touch(&0, 100, || ()); // 0 is now the hottest
        t.touch(&99, 101, || ());
        assert!(t.len() <= 16);
        assert!(t.get(&0).is_some(), "recently touched key kept");
        assert!(t.get(&1).is_none() && t.get(&2).is_none(), "coldest keys evicted");
        assert_eq!(t.evicted(), 2);
    }

    proptest! {
        #[test]
        fn never_exceeds_its_cap(keys in proptest::collection::vec((0u32..5000, 0i64..1000), 1..2000), cap in 8usize..200) {
            let mut t: Table<u32, u8> = Table::new(cap);
            for (k, at) in keys {
                t.touch(&k, at, || 0);
                prop_assert!(t.len() <= cap);
            }
        }
    }
}

/// A map kept as a vector, searched linearly: for the few to few hundred entries a host's scan state
/// holds, smaller than a hash map (one allocation, no control bytes) and as fast.
#[derive(Debug, Clone)]
pub struct VecMap<K, V> {
    items: Vec<(K, V)>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap { items: Vec::new() }
    }
}

impl<K: PartialEq + Copy, V> VecMap<K, V> {
    pub fn get(&self, k: &K) -> Option<&V> {
        self.items.iter().find(|(key, _)| key == k).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.items.iter_mut().find(|(key, _)| key == k).map(|(_, v)| v)
    }

    pub fn contains_key(&self, k: &K) -> bool {
        self.get(k).is_some()
    }

    /// The value of `k`, inserted by `init` when absent; the flag says whether it was inserted.
    pub fn entry_or(&mut self, k: K, init: impl FnOnce() -> V) -> (&mut V, bool) {
        match self.items.iter().position(|(key, _)| *key == k) {
            Some(i) => (&mut self.items[i].1, false),
            None => {
                // Most hosts probe one or two targets: start with room for one, then double.
                if self.items.capacity() == 0 {
                    self.items.reserve_exact(1);
                }
                self.items.push((k, init()));
                let last = self.items.len() - 1;
                (&mut self.items[last].1, true)
            }
        }
    }

    pub fn remove(&mut self, k: &K) {
        if let Some(i) = self.items.iter().position(|(key, _)| key == k) {
            self.items.swap_remove(i);
        }
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        self.items.retain(|(k, v)| keep(k, v));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.items.iter().map(|(k, v)| (k, v))
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Bytes of its allocation.
    pub fn heap_bytes(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<(K, V)>()
    }

    /// Keeps the `n` entries that `rank` puts first.
    pub fn keep_top<R: Ord>(&mut self, n: usize, rank: impl Fn(&K, &V) -> R) {
        self.items.sort_by_key(|(k, v)| rank(k, v));
        self.items.truncate(n);
    }
}
