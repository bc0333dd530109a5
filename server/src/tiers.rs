//! What each tier gets: storage, retention, and whether a subscription still counts.

use app::model::Tier;

const GB: u64 = 1024 * 1024 * 1024;

/// The subscription state stored with a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscription {
    /// Never paid: the Free tier.
    None,
    Active,
    /// A paid tier that was not renewed; Free's rules apply from `lapsed_at`.
    Lapsed {
        lapsed_at: i64,
    },
}

impl Subscription {
    /// Reads the stored columns.
    pub fn from_columns(status: &str, lapsed_at: Option<i64>) -> Subscription {
        match (status, lapsed_at) {
            ("active", _) => Subscription::Active,
            ("lapsed", Some(at)) => Subscription::Lapsed { lapsed_at: at },
            ("lapsed", None) => Subscription::Lapsed { lapsed_at: 0 },
            _ => Subscription::None,
        }
    }
}

/// The rules that apply to one user right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The tier whose rules apply: a lapsed paid tier counts as Free.
    pub effective: Tier,
    pub storage_limit_bytes: u64,
    /// How long photos are kept, in days; `None` is forever.
    pub retention_days: Option<u32>,
    /// Retention is counted from the later of a photo's upload and this moment (a lapse).
    pub retention_from_ms: i64,
}

/// Works out the rules for a user's stored tier and subscription.
pub fn plan(tier: Tier, subscription: Subscription, free_quota: u64, free_days: u32) -> Plan {
    let effective = match (tier, subscription) {
        (Tier::Free, _) | (_, Subscription::None) | (_, Subscription::Lapsed { .. }) => Tier::Free,
        (paid, Subscription::Active) => paid,
    };
    let storage_limit_bytes = match effective {
        Tier::Free => free_quota,
        Tier::Remember => 50 * GB,
        Tier::Cherish => 100 * GB,
        Tier::Forever => 200 * GB,
    };
    let retention_from_ms = match subscription {
        Subscription::Lapsed { lapsed_at } => lapsed_at,
        _ => 0,
    };

    Plan {
        effective,
        storage_limit_bytes,
        retention_days: (effective == Tier::Free).then_some(free_days),
        retention_from_ms,
    }
}

impl Plan {
    /// When a photo created at `created_at_ms` stops being available, if ever.
    pub fn expires_at(&self, created_at_ms: i64) -> Option<i64> {
        let days = self.retention_days?;
        let start = created_at_ms.max(self.retention_from_ms);
        Some(start + i64::from(days) * 24 * 3600 * 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * 3600 * 1000;

    #[test]
    fn paid_tier_counts_only_while_active() {
        let active = plan(Tier::Cherish, Subscription::Active, GB, 7);
        assert_eq!(active.effective, Tier::Cherish);
        assert_eq!(active.storage_limit_bytes, 100 * GB);
        assert_eq!(active.expires_at(0), None);

        let lapsed = plan(
            Tier::Cherish,
            Subscription::Lapsed {
                lapsed_at: 10 * DAY,
            },
            GB,
            7,
        );
        assert_eq!(lapsed.effective, Tier::Free);
        assert_eq!(lapsed.storage_limit_bytes, GB);
    }

    #[test]
    fn lapsed_photos_get_seven_days_from_the_lapse_not_from_upload() {
        let lapsed = plan(
            Tier::Forever,
            Subscription::Lapsed {
                lapsed_at: 100 * DAY,
            },
            GB,
            7,
        );
        assert_eq!(lapsed.expires_at(DAY), Some(107 * DAY));
        assert_eq!(lapsed.expires_at(101 * DAY), Some(108 * DAY));
    }

    #[test]
    fn each_tier_has_its_storage_limit() {
        let limits: Vec<u64> = Tier::ALL
            .iter()
            .map(|&t| plan(t, Subscription::Active, 3 * GB, 7).storage_limit_bytes)
            .collect();
        assert_eq!(limits, vec![3 * GB, 50 * GB, 100 * GB, 200 * GB]);
    }
}
