//! The lifecycle timeline on disk: `--timeline PATH` (a Chrome trace-event file for Perfetto
//! and chrome://tracing, one track per component) and `--timeline-svg PATH` (the shutdown as
//! a picture).
//!
//! lifecycle-core's timeline spans and events ([`lifecycle_core::timeline`]: start, running,
//! shutdown, phase, resource, task; signals, reconnects, orders cancelled and confirmed) are
//! recorded by tracing-chrome's layer (`TraceStyle::Async`, every field) into a raw file
//! beside the first output (`PATH.raw`), whatever the log's filter. When the run ends, on
//! every path that ends it (a clean end, a failure, a signal, a forced exit, the shutdown
//! watchdog), [`Recorder::finish`] drops tracing-chrome's flush guard (its writer thread
//! closes the JSON array and flushes), reads the raw trace back, lays it out per component
//! and writes each output whole to a temporary file renamed into place: a file at `PATH` is
//! always complete. Only the timeline's own fields are recorded, and every string in them
//! passes the log's redaction.

mod chrome;
mod picture;
mod recorded;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use lifecycle_core::timeline::TARGET as TIMELINE;
use tracing::Level;
use tracing_chrome::{ChromeLayerBuilder, FlushGuard, TraceStyle};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;

use crate::logging::BoxedLayer;
use recorded::Recorded;

/// What went wrong with the timeline's files.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TimelineError {
    /// A file could not be created, written, read or renamed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The raw trace did not read back as JSON.
    #[error("{path}: the recorded trace is not valid JSON: {source}")]
    Unreadable {
        /// The raw trace.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> TimelineError + '_ {
    move |source| TimelineError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What the finished timeline holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    /// Spans recorded.
    pub(crate) spans: usize,
    /// Events recorded.
    pub(crate) events: usize,
    /// Tracks in the Chrome trace.
    pub(crate) tracks: usize,
    /// Spans that ended badly or not at all.
    pub(crate) failures: usize,
}

/// Records the timeline of a run until [`finish`](Self::finish).
#[derive(Debug)]
pub(crate) struct Recorder {
    state: Mutex<Option<Recording>>,
}

struct Recording {
    guard: FlushGuard,
    raw: PathBuf,
    chrome: Option<PathBuf>,
    svg: Option<PathBuf>,
}

impl std::fmt::Debug for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recording")
            .field("raw", &self.raw)
            .field("chrome", &self.chrome)
            .field("svg", &self.svg)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// Starts recording if `chrome` or `svg` asks for it: the layer to install with the log,
    /// and the recorder to finish when the run ends. Fails if the raw trace cannot be
    /// created.
    pub(crate) fn start(
        chrome: Option<&Path>,
        svg: Option<&Path>,
    ) -> Result<Option<(BoxedLayer, Arc<Self>)>, TimelineError> {
        let Some(first) = chrome.or(svg) else {
            return Ok(None);
        };
        let mut raw = first.as_os_str().to_owned();
        raw.push(".raw");
        let raw = PathBuf::from(raw);
        let file = File::create(&raw).map_err(io_error(&raw))?;
        let (layer, guard) = ChromeLayerBuilder::new()
            .writer(file)
            .trace_style(TraceStyle::Async)
            .include_args(true)
            .include_locations(false)
            .build();
        let layer = layer
            .with_filter(Targets::new().with_target(TIMELINE, Level::INFO))
            .boxed();
        let recorder = Arc::new(Self {
            state: Mutex::new(Some(Recording {
                guard,
                raw,
                chrome: chrome.map(Path::to_owned),
                svg: svg.map(Path::to_owned),
            })),
        });
        Ok(Some((layer, recorder)))
    }

    /// Ends the recording and writes the files; `None` if it was already finished (the
    /// first call wins: a watchdog's exit and the run's end may race). Spans still open are
    /// written as `unfinished`, up to the trace's last time stamp.
    pub(crate) fn finish(&self) -> Option<Result<Summary, TimelineError>> {
        let recording = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        Some(recording.finish())
    }
}

impl Recording {
    fn finish(self) -> Result<Summary, TimelineError> {
        // The writer thread closes the array and flushes before the drop returns.
        drop(self.guard);
        let raw = std::fs::read(&self.raw).map_err(io_error(&self.raw))?;
        let recorded = Recorded::parse(&raw).map_err(|source| TimelineError::Unreadable {
            path: self.raw.clone(),
            source,
        })?;
        let document = chrome::document(&recorded);
        if let Some(path) = &self.chrome {
            let text =
                serde_json::to_vec(&document).map_err(|source| TimelineError::Unreadable {
                    path: path.clone(),
                    source,
                })?;
            write_whole(path, &text)?;
        }
        if let Some(path) = &self.svg {
            write_whole(path, picture::draw(&recorded).to_string().as_bytes())?;
        }
        std::fs::remove_file(&self.raw).map_err(io_error(&self.raw))?;
        Ok(Summary {
            spans: recorded.slices.len(),
            events: recorded.marks.len(),
            tracks: chrome::track_names(&document).len(),
            failures: recorded.slices.iter().filter(|s| s.failed()).count(),
        })
    }
}

/// Writes `bytes` to `path` whole: to a temporary file beside it, then renamed into place.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), TimelineError> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, bytes).map_err(io_error(&partial))?;
    std::fs::rename(&partial, path).map_err(io_error(path))
}

/// Finishes `recorder` (if any) and logs what it wrote or why it could not.
pub(crate) fn finish_and_log(recorder: Option<&Recorder>) {
    match recorder.and_then(Recorder::finish) {
        None => {}
        Some(Ok(summary)) => tracing::info!(
            spans = summary.spans,
            events = summary.events,
            tracks = summary.tracks,
            failures = summary.failures,
            "timeline written"
        ),
        Some(Err(error)) => tracing::error!(%error, "timeline not written"),
    }
}
