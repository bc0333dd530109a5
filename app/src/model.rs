//! The types the browser and the server exchange: one definition, so they cannot disagree.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A subscription tier. Free keeps photos for a limited time; paid tiers keep them forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Free,
    Remember,
    Cherish,
    Forever,
}

impl Tier {
    /// Every tier, cheapest first.
    pub const ALL: [Tier; 4] = [Tier::Free, Tier::Remember, Tier::Cherish, Tier::Forever];

    /// The stable name stored in the database and used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Remember => "remember",
            Tier::Cherish => "cherish",
            Tier::Forever => "forever",
        }
    }

    /// Parses the stable name; `None` for anything else.
    pub fn parse(name: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|tier| tier.as_str() == name)
    }

    /// The name a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Tier::Free => "Free",
            Tier::Remember => "Remember",
            Tier::Cherish => "Cherish",
            Tier::Forever => "Forever",
        }
    }

    /// Storage included, in GB; `None` for Free, whose quota the operator sets.
    pub fn storage_gb(self) -> Option<u64> {
        match self {
            Tier::Free => None,
            Tier::Remember => Some(50),
            Tier::Cherish => Some(100),
            Tier::Forever => Some(200),
        }
    }

    /// Who the tier is for, in a few words.
    pub fn summary(self) -> &'static str {
        match self {
            Tier::Free => "Try Rekindle on a few photos",
            Tier::Remember => "A family album, kept safe",
            Tier::Cherish => "Several albums and their restorations",
            Tier::Forever => "A whole archive of scans",
        }
    }

    /// Monthly price in US dollars.
    pub fn monthly_price_usd(self) -> u32 {
        match self {
            Tier::Free => 0,
            Tier::Remember => 7,
            Tier::Cherish => 12,
            Tier::Forever => 20,
        }
    }
}

/// The signed-in person, as the UI sees them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    /// The tier whose rules apply right now (a lapsed paid tier counts as Free).
    pub tier: Tier,
    pub storage_used_bytes: u64,
    pub storage_limit_bytes: u64,
    /// Days photos are kept on the effective tier; `None` means forever.
    pub retention_days: Option<u32>,
}

/// Where a photo came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoKind {
    /// Uploaded by the user.
    Original,
    /// Produced by a restoration job.
    Restored,
}

/// One photo in the gallery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoView {
    pub id: Uuid,
    pub kind: PhotoKind,
    /// The name the file had on the user's machine; metadata only, never a storage key.
    pub file_name: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub size_bytes: u64,
    /// Unix time in milliseconds.
    pub created_at: i64,
    /// For a restored photo, the original it came from.
    pub source_photo_id: Option<Uuid>,
    /// Unix time in milliseconds after which the photo is no longer available, if it expires.
    pub expires_at: Option<i64>,
    /// The newest restoration job started from this photo.
    pub latest_job: Option<JobView>,
}

/// Where a job is in its life. A job only moves forward; the last three states are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
    TimedOut,
}

impl JobStatus {
    /// The stable name stored in the database and sent to clients.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::TimedOut => "timed_out",
        }
    }

    /// Parses the stable name; `None` for anything else.
    pub fn parse(name: &str) -> Option<JobStatus> {
        [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Completed,
            JobStatus::Failed,
            JobStatus::Cancelled,
            JobStatus::TimedOut,
        ]
        .into_iter()
        .find(|status| status.as_str() == name)
    }

    /// True for states a job never leaves.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled | JobStatus::TimedOut
        )
    }

    /// The name a person reads.
    pub fn label(self) -> &'static str {
        match self {
            JobStatus::Queued => "Waiting to start",
            JobStatus::Running => "Restoring",
            JobStatus::Completed => "Restored",
            JobStatus::Failed => "Failed",
            JobStatus::Cancelled => "Cancelled",
            JobStatus::TimedOut => "Timed out",
        }
    }
}

/// The restoration steps a person can choose; each maps to one stage of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RestoreOptions {
    /// Detect scratches and dust specks and paint them out.
    pub clean_scratches: bool,
    /// Smooth film grain and scanner noise while keeping edges.
    pub reduce_noise: bool,
    /// Stretch faded contrast and remove a yellow or sepia cast.
    pub fix_colours: bool,
    /// Bring back crisp edges without halos.
    pub sharpen: bool,
    /// Double the width and height.
    pub upscale_2x: bool,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            clean_scratches: true,
            reduce_noise: true,
            fix_colours: true,
            sharpen: true,
            upscale_2x: false,
        }
    }
}

/// A restoration job as the UI sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub id: Uuid,
    pub photo_id: Uuid,
    pub status: JobStatus,
    /// 0–100 while running.
    pub progress: u8,
    /// A short name of the current step ("denoise", "saving result").
    pub stage: Option<String>,
    /// Why the job failed, in plain words.
    pub error: Option<String>,
    /// The restored photo once the job completed.
    pub result_photo_id: Option<Uuid>,
    pub provider: String,
    pub options: RestoreOptions,
    pub created_at: i64,
    pub updated_at: i64,
    /// Calls made to the provider for this job (submit, status checks, cancel, download).
    #[serde(default)]
    pub provider_calls: i64,
    /// Reports the provider pushed for this job (webhooks, ComfyUI WebSocket events).
    #[serde(default)]
    pub webhooks_received: i64,
}

/// Request body of `POST /api/jobs/restore`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRestoreJob {
    pub photo_id: Uuid,
    #[serde(default)]
    pub options: RestoreOptions,
}

/// Which rendition of a photo a URL is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoVariant {
    /// The full image, shown inline.
    Full,
    /// A small preview for the gallery.
    Thumbnail,
    /// The full image as an attachment with its original file name.
    Download,
}

impl PhotoVariant {
    /// The stable name used in query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoVariant::Full => "full",
            PhotoVariant::Thumbnail => "thumbnail",
            PhotoVariant::Download => "download",
        }
    }
}

/// A short-lived URL the gatekeeper issued for one rendition of one photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoAccess {
    pub url: String,
    /// Unix time in milliseconds when the URL stops working.
    pub expires_at: i64,
}

/// One frame on the live job stream (`/ws/jobs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamFrame {
    /// First frame after connecting: the newest sequence number the server knows for this user.
    Hello { seq: i64 },
    /// A job changed. `seq` is the user's event sequence number, gap-free and increasing.
    Job { seq: i64, job: JobView },
    /// The events since the client's last sequence are no longer kept: reload the jobs.
    Reset { seq: i64 },
    /// Sent every 20 s when nothing else is: the link is alive, and `seq` is the newest sent.
    Heartbeat { seq: i64 },
}

/// The error body every API route returns: a stable code and a sentence for a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_paid_tier_has_its_price_and_storage() {
        let offers: Vec<(u32, Option<u64>)> = Tier::ALL
            .iter()
            .map(|t| (t.monthly_price_usd(), t.storage_gb()))
            .collect();
        assert_eq!(
            offers,
            vec![(0, None), (7, Some(50)), (12, Some(100)), (20, Some(200))]
        );
    }
}
