//! Decoding is bounded by what an image really is, never by what a file claims: a counting
//! allocator records the peak memory of probing and decoding each hostile input.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// One measurement at a time: the counters are process-wide.
static MEASURING: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                - layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes allocated while `work` runs, above what was allocated before it.
fn peak_during(work: impl FnOnce()) -> usize {
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    work();
    PEAK.load(Ordering::Relaxed).saturating_sub(base)
}

fn edge(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/testdata/edge")
        .join(name);
    std::fs::read(path).expect("test data file")
}

/// A PNG whose header declares `width`×`height` but which holds almost no data.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    push_chunk(&mut png, b"IHDR", &ihdr);
    push_chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    push_chunk(&mut png, b"IEND", &[]);
    png
}

fn push_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    png.extend_from_slice(&crc32(&crc_input).to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn hostile_files_never_cost_memory_in_proportion_to_their_claims() {
    const CAP: usize = 32 * 1024 * 1024;
    let limits = restore::Limits::default();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("decompression_bomb.gif", edge("decompression_bomb.gif")),
        ("broken.png", edge("broken.png")),
        ("truncated_end_chunk.png", edge("truncated_end_chunk.png")),
        ("png claiming 30000x30000", png_claiming(30_000, 30_000)),
        ("png claiming 100000x100000", png_claiming(100_000, 100_000)),
        ("png claiming 10000x9000", png_claiming(10_000, 9_000)),
    ];
    for (name, bytes) in cases {
        let peak = peak_during(|| {
            let _ = restore::probe(&bytes, &limits);
            let result = restore::decode(&bytes, &limits);
            assert!(result.is_err(), "{name} was accepted");
        });
        assert!(peak < CAP, "{name}: decoding peaked at {} MiB", peak >> 20);
    }
}

#[test]
fn an_ordinary_photo_costs_about_its_pixels() {
    let bytes = edge("hopper.jpg");
    let peak = peak_during(|| {
        let decoded = restore::decode(&bytes, &restore::Limits::default()).expect("hopper decodes");
        assert_eq!((decoded.image.width(), decoded.image.height()), (128, 128));
    });
    assert!(
        peak < 4 * 1024 * 1024,
        "a 128×128 JPEG peaked at {} KiB",
        peak >> 10
    );
}
