// Temporary diagnostics; deleted before hand-off.
use image::DynamicImage;
use quality::bench::score;
use quality::damage::{damage, Defect};
use restore::Options;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let names = ["astronaut", "camera", "chelsea", "coffee"];
    let only: Option<String> = std::env::args().nth(1);
    if let Some(p) = only.as_deref().filter(|p| p.ends_with(".png")) {
        tonal(p);
        return;
    }
    let configs: Vec<(&str, Options)> = vec![
        ("default", Options::default()),
        (
            "colours-only",
            Options {
                clean_scratches: false,
                reduce_noise: false,
                sharpen: false,
                ..Options::default()
            },
        ),
        (
            "no-sharpen",
            Options {
                sharpen: false,
                ..Options::default()
            },
        ),
        (
            "no-clean",
            Options {
                clean_scratches: false,
                ..Options::default()
            },
        ),
    ];
    for defect in Defect::ALL {
        if let Some(o) = &only {
            if o != defect.name() {
                continue;
            }
        }
        for (cname, opts) in &configs {
            let (mut p0, mut s0, mut p1, mut s1) = (0.0, 0.0, 0.0, 0.0);
            let mut line = String::new();
            for (k, n) in names.iter().enumerate() {
                let orig = image::open(format!("/work/shared/testdata/clean/{n}.png"))
                    .unwrap()
                    .to_rgb8();
                let _ = k;
                let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
                for byte in n.bytes().chain([defect as u8]) {
                    hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
                }
                let seed = hash ^ 2024;
                let d = damage(&orig, defect, seed);
                let r = restore::restore(&DynamicImage::ImageRgb8(d.clone()), opts, &mut |_, _| {})
                    .to_rgb8();
                let (a, b) = (score(&orig, &d), score(&orig, &r));
                p0 += a.psnr;
                s0 += a.ssim;
                p1 += b.psnr;
                s1 += b.ssim;
                line += &format!(" {n}:{:+.2}/{:+.4}", b.psnr - a.psnr, b.ssim - a.ssim);
            }
            println!(
                "{:9} {:13} gain {:+.2} dB / {:+.4} |{}",
                defect.name(),
                cname,
                (p1 - p0) / 4.0,
                (s1 - s0) / 4.0,
                line
            );
        }
    }
}

#[allow(dead_code)]
pub fn tonal(path: &str) {
    let before = image::open(path).unwrap();
    let tr = |i: &DynamicImage| {
        let mut v = i.to_luma8().into_raw();
        v.sort_unstable();
        let at = |f: f64| v[((v.len() - 1) as f64 * f) as usize];
        (at(0.01), at(0.99))
    };
    println!("before {:?}", tr(&before));
    for (n, o) in [
        (
            "clean",
            Options {
                fix_colours: false,
                sharpen: false,
                reduce_noise: false,
                ..Options::default()
            },
        ),
        (
            "clean+noise",
            Options {
                fix_colours: false,
                sharpen: false,
                ..Options::default()
            },
        ),
        (
            "+colours",
            Options {
                sharpen: false,
                ..Options::default()
            },
        ),
        ("all", Options::default()),
    ] {
        println!(
            "{n} {:?}",
            tr(&restore::restore(&before, &o, &mut |_, _| {}))
        );
    }
}
