//! Bounds on expanding variables: Dockerfile `ARG`/`ENV` substitution
//! and stage inheritance, compose interpolation and `.env` files. Each is
//! a few lines of text that can ask for exponentially much (`ENV A=$A$A`
//! thirty times over, `${A:-${A:-...}}` fifty thousand deep, a chain of
//! stages each inheriting all of the last). A front-end charges what it
//! produces to a [`Budget`]; when that is spent the value is unknown, and
//! the front-end reports where and why.

use std::cell::Cell;

/// The longest value one expansion may produce.
pub const MAX_VALUE: usize = 64 * 1024;
/// What all the expansions of one file may produce together.
pub const MAX_TOTAL: usize = 8 << 20;
/// The deepest nesting of `${NAME:-${...}}`.
pub const MAX_DEPTH: usize = 32;
/// What a Dockerfile's stages may copy from the stages (and global
/// `ARG`s) they inherit from, together, in bytes (roughly).
pub const MAX_INHERITED: usize = 16 << 20;

/// Which bound an expansion reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Value,
    Total,
    Depth,
    Inherited,
}

impl Limit {
    /// Why the value is unknown, to follow "unknown: ".
    pub fn describe(self) -> String {
        match self {
            Limit::Value => format!("expanding it would give more than {} KiB", MAX_VALUE / 1024),
            Limit::Total => format!(
                "the file's expansions would give more than {} MiB in all",
                MAX_TOTAL >> 20
            ),
            Limit::Depth => format!("its `${{...}}` nest more than {MAX_DEPTH} deep"),
            Limit::Inherited => format!(
                "the file's stages would copy more than {} MiB from the stages they are \
                 built from, so this stage and the later ones built from another start \
                 without what they inherit",
                MAX_INHERITED >> 20
            ),
        }
    }
}

/// What one file's expansions may still produce. Shared by reference
/// (interior counters), so copies of a variable scope charge one budget.
#[derive(Debug, Default)]
pub struct Budget {
    used: Cell<usize>,
    inherited: Cell<usize>,
    reached: Cell<Option<Limit>>,
}

impl Budget {
    /// Charges one finished value of `len` bytes.
    pub fn charge(&self, len: usize) -> Result<(), Limit> {
        if len > MAX_VALUE {
            return Err(self.reach(Limit::Value));
        }
        let used = self.used.get().saturating_add(len);
        if used > MAX_TOTAL {
            return Err(self.reach(Limit::Total));
        }
        self.used.set(used);
        Ok(())
    }

    /// Charges a copy of `weight` bytes from an inherited scope.
    pub fn inherit(&self, weight: usize) -> Result<(), Limit> {
        let inherited = self.inherited.get().saturating_add(weight);
        if inherited > MAX_INHERITED {
            // Spent for good: later stages inherit nothing either, and
            // need not be weighed.
            self.inherited.set(MAX_INHERITED);
            return Err(self.reach(Limit::Inherited));
        }
        self.inherited.set(inherited);
        Ok(())
    }

    /// What stages may still copy.
    pub fn inheritable(&self) -> usize {
        MAX_INHERITED.saturating_sub(self.inherited.get())
    }

    /// Records that a bound was reached.
    pub fn reach(&self, limit: Limit) -> Limit {
        self.reached.set(Some(limit));
        limit
    }

    /// The bound reached since the last call, if any.
    pub fn take(&self) -> Option<Limit> {
        self.reached.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_refuses_long_values_and_runs_out() {
        let budget = Budget::default();
        assert_eq!(budget.charge(MAX_VALUE + 1), Err(Limit::Value));
        assert_eq!(budget.take(), Some(Limit::Value));
        assert_eq!(budget.take(), None);
        for _ in 0..MAX_TOTAL / MAX_VALUE {
            assert_eq!(budget.charge(MAX_VALUE), Ok(()));
        }
        assert_eq!(budget.charge(1), Err(Limit::Total));
        assert_eq!(budget.inherit(MAX_INHERITED + 1), Err(Limit::Inherited));
        assert_eq!(budget.inheritable(), 0);
        assert_eq!(budget.inherit(1), Err(Limit::Inherited));
    }
}
