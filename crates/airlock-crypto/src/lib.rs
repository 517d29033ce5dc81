//! `airlock-crypto`: see the crate README. (Skeleton; filled in by its issue.)
