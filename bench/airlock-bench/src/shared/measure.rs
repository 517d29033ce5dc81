//! Timing: warm-up, several rounds, the median. Shared by `airlock-bench` and
//! `bench/compare`.

use std::future::Future;
use std::time::{Duration, Instant};

/// Rounds measured after the warm-up (environment `AIRLOCK_BENCH_ROUNDS`, default 15).
pub(crate) fn rounds() -> usize {
    env_usize("AIRLOCK_BENCH_ROUNDS", 15).max(1)
}

/// Requests per round of a request benchmark (environment `AIRLOCK_BENCH_REQUESTS`,
/// default 2048; rounded down to a multiple of the concurrency).
pub(crate) fn requests_per_round() -> usize {
    env_usize("AIRLOCK_BENCH_REQUESTS", 2048).max(64)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The median of a measure's rounds, and their spread: `(max - min) / median` (a large
/// spread means a noisy machine: another process took the core during some rounds).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stats {
    pub(crate) median: f64,
    pub(crate) spread: f64,
}

fn stats(samples: &mut [f64]) -> Stats {
    let median = median(samples);
    let (min, max) = (samples.first().copied(), samples.last().copied());
    let spread = match (min, max) {
        (Some(min), Some(max)) if median > 0.0 => (max - min) / median,
        _ => f64::NAN,
    };
    Stats { median, spread }
}

/// The median of `samples` (sorted in place).
fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2.0
    }
}

/// How long one timed round of a throughput measure lasts at least: long enough that a
/// scheduler tick or a page-fault burst is a small part of it.
const MIN_ROUND: Duration = Duration::from_millis(40);

/// Throughput in MB/s (10^6 bytes per second) of `op` over `bytes` bytes: three warm-up
/// calls, then [`rounds`] timed rounds of as many calls as fill [`MIN_ROUND`] (counted
/// from the warm-up), the median. An error from `op` ends the measure.
pub(crate) fn megabytes_per_sec<E>(
    bytes: usize,
    mut op: impl FnMut() -> Result<(), E>,
) -> Result<Stats, E> {
    let calls = calls_per_round(&mut op)?;
    let mut samples = Vec::with_capacity(rounds());
    for _ in 0..rounds() {
        samples.push(throughput_round(bytes, calls, &mut op)?);
    }
    Ok(stats(&mut samples))
}

/// Throughput in MB/s of `a` and of `b` over the same `bytes`, in alternating rounds (as
/// [`paired_requests_per_sec`] does for requests): three warm-up calls each, then
/// [`rounds`] timed pairs, each side's round as long as [`MIN_ROUND`].
pub(crate) fn paired_megabytes_per_sec<E>(
    bytes: usize,
    mut a: impl FnMut() -> Result<(), E>,
    mut b: impl FnMut() -> Result<(), E>,
) -> Result<Paired, E> {
    let (calls_a, calls_b) = (calls_per_round(&mut a)?, calls_per_round(&mut b)?);
    let mut pairs = Pairs::default();
    for round in 0..rounds() {
        let (rate_a, rate_b) = if round % 2 == 0 {
            let rate_a = throughput_round(bytes, calls_a, &mut a)?;
            (rate_a, throughput_round(bytes, calls_b, &mut b)?)
        } else {
            let rate_b = throughput_round(bytes, calls_b, &mut b)?;
            (throughput_round(bytes, calls_a, &mut a)?, rate_b)
        };
        pairs.push(rate_a, rate_b);
    }
    Ok(pairs.finish())
}

/// Three warm-up calls of `op`; how many calls fill [`MIN_ROUND`].
fn calls_per_round<E>(op: &mut impl FnMut() -> Result<(), E>) -> Result<usize, E> {
    let mut fastest = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        op()?;
        fastest = fastest.min(start.elapsed());
    }
    let calls = (MIN_ROUND.as_secs_f64() / fastest.as_secs_f64().max(1e-9)).ceil() as usize;
    Ok(calls.clamp(1, 10_000))
}

/// One timed round of `calls` calls of `op`; MB/s.
fn throughput_round<E>(
    bytes: usize,
    calls: usize,
    op: &mut impl FnMut() -> Result<(), E>,
) -> Result<f64, E> {
    let start = Instant::now();
    for _ in 0..calls {
        op()?;
    }
    Ok(rate(calls as f64 * bytes as f64 / 1e6, start.elapsed()))
}

/// Two measures made side by side, and how they compare.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paired {
    /// The rate of the first.
    pub(crate) a: Stats,
    /// The rate of the second.
    pub(crate) b: Stats,
    /// `a / b` of each pair of rounds.
    pub(crate) ratio: Stats,
}

/// The rates of paired rounds, as they come.
#[derive(Default)]
struct Pairs {
    a: Vec<f64>,
    b: Vec<f64>,
    ratios: Vec<f64>,
}

impl Pairs {
    fn push(&mut self, rate_a: f64, rate_b: f64) {
        self.a.push(rate_a);
        self.b.push(rate_b);
        self.ratios.push(rate_a / rate_b);
    }

    fn finish(mut self) -> Paired {
        Paired {
            a: stats(&mut self.a),
            b: stats(&mut self.b),
            ratio: stats(&mut self.ratios),
        }
    }
}

/// Requests per second of `a` and of `b` in alternating rounds — `a` then `b`, then `b` then
/// `a`, … — so that both see the same machine: one warm-up round each, then [`rounds`]
/// timed pairs of [`requests_per_round`] requests. The median of the per-pair ratios is the
/// comparison that a busy machine disturbs least (a slow phase slows both sides of a pair).
pub(crate) async fn paired_requests_per_sec<FA, FutA, FB, FutB>(
    concurrency: usize,
    a: FA,
    b: FB,
) -> Result<Paired, String>
where
    FA: Fn() -> FutA,
    FutA: Future<Output = Result<(), String>>,
    FB: Fn() -> FutB,
    FutB: Future<Output = Result<(), String>>,
{
    let mut pairs = Pairs::default();
    for round in 0..=rounds() {
        let (rate_a, rate_b) = if round % 2 == 0 {
            let rate_a = request_round(concurrency, &a).await?;
            (rate_a, request_round(concurrency, &b).await?)
        } else {
            let rate_b = request_round(concurrency, &b).await?;
            (request_round(concurrency, &a).await?, rate_b)
        };
        if round > 0 {
            pairs.push(rate_a, rate_b);
        }
    }
    Ok(pairs.finish())
}

/// One round: [`requests_per_round`] requests of `op` by `concurrency` concurrent workers;
/// the rate.
async fn request_round<F, Fut>(concurrency: usize, op: &F) -> Result<f64, String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let per_worker = requests_per_round() / concurrency;
    let total = per_worker * concurrency;
    let start = Instant::now();
    let workers = (0..concurrency).map(|_| async {
        for _ in 0..per_worker {
            op().await?;
        }
        Ok::<(), String>(())
    });
    futures_util::future::try_join_all(workers).await?;
    Ok(rate(total as f64, start.elapsed()))
}

fn rate(amount: f64, elapsed: Duration) -> f64 {
    amount / elapsed.as_secs_f64().max(1e-9)
}

/// Prints one result line for `cargo xtask bench`: `bench <key> <value>`.
pub(crate) fn report(key: &str, value: f64) {
    println!("bench {key} {value:.3}");
}

/// Prints that a measure could not be made, and why: `bench-na <key> <reason>`.
pub(crate) fn report_na(key: &str, reason: &str) {
    let reason = reason.replace('\n', " ");
    println!("bench-na {key} {reason}");
}

/// Reports `result` under `key` (its median, and its spread as `<key>.spread`), or n/a
/// with the error.
pub(crate) fn report_result<E: std::fmt::Display>(key: &str, result: Result<Stats, E>) {
    match result {
        Ok(stats) => {
            report(key, stats.median);
            report(&format!("{key}.spread"), stats.spread);
        }
        Err(e) => report_na(key, &e.to_string()),
    }
}

/// Reports a paired measure under `<prefix>.<name>` for the names of its first side, its
/// second side and their ratio (each with its spread), or n/a for all three with the error.
pub(crate) fn report_paired<E: std::fmt::Display>(
    prefix: &str,
    names: [&str; 3],
    result: Result<Paired, E>,
) {
    let keys = names.map(|name| format!("{prefix}.{name}"));
    match result {
        Ok(p) => {
            for (key, stats) in keys.iter().zip([p.a, p.b, p.ratio]) {
                report_result::<String>(key, Ok(stats));
            }
        }
        Err(e) => {
            for key in &keys {
                report_na(key, &e.to_string());
            }
        }
    }
}
