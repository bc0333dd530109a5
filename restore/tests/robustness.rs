//! Hostile-input robustness: random bytes and damaged copies of real images must give
//! `Ok` or `Err` from `probe` and `decode`, never a panic (seeded, so failures reproduce).

use std::path::PathBuf;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use restore::{decode, probe, Limits};

const SAMPLES: [&str; 8] = [
    "edge/hopper.jpg",
    "edge/hopper.webp",
    "edge/hopper.gif",
    "edge/hopper.tif",
    "edge/pil_sample_cmyk.jpg",
    "edge/tiff_16bit_RGB_target.png",
    "edge/hopper_orientation_6.jpg",
    "photos/scratched-b.png",
];

fn testdata(name: &str) -> Vec<u8> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "shared",
        "testdata",
        name,
    ]
    .iter()
    .collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Runs both entry points; a panic fails the test with the case's description.
fn survive(bytes: &[u8], case: &str) {
    let limits = Limits {
        max_pixels: 4_000_000,
        max_alloc: 64 << 20,
        ..Limits::default()
    };
    let probed = probe(bytes, &limits);
    let decoded = decode(bytes, &limits);
    if let Ok(decoded) = &decoded {
        let (w, h) = (decoded.image.width(), decoded.image.height());
        assert!(
            u64::from(w) * u64::from(h) <= limits.max_pixels,
            "{case}: {w}×{h}"
        );
        assert!(probed.is_ok(), "{case}: decodes but does not probe");
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x5EED);
    let magics: [&[u8]; 6] = [
        b"",
        b"\xFF\xD8\xFF",
        b"\x89PNG\r\n\x1a\n",
        b"GIF89a",
        b"RIFF\0\0\0\0WEBP",
        b"II*\0",
    ];
    for case in 0..120 {
        let mut bytes = magics[case % magics.len()].to_vec();
        let len = rng.gen_range(0..2048);
        bytes.extend((0..len).map(|_| rng.gen::<u8>()));
        survive(&bytes, &format!("random case {case}"));
    }
}

#[test]
fn truncated_images_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x7A11);
    for name in SAMPLES {
        let bytes = testdata(name);
        for _ in 0..15 {
            let cut = rng.gen_range(0..bytes.len());
            survive(&bytes[..cut], &format!("{name} cut at {cut}"));
        }
    }
}

#[test]
fn corrupted_images_never_panic() {
    let mut rng = StdRng::seed_from_u64(0xBAD);
    for name in SAMPLES {
        let original = testdata(name);
        for round in 0..20 {
            let mut bytes = original.clone();
            // Damage headers more often than pixel data: that is where decoders are fragile.
            let reach = if round % 2 == 0 {
                bytes.len().min(512)
            } else {
                bytes.len()
            };
            for _ in 0..rng.gen_range(1..8) {
                let at = rng.gen_range(0..reach);
                bytes[at] = rng.gen();
            }
            survive(&bytes, &format!("{name} corruption round {round}"));
        }
    }
}
