//! The plugin's process-wide state, made on the first call of any function: the settings, one
//! [`Runtime`] (its deadline, memory cap and budget; `KILL QUERY` as its interrupt check), the
//! model registry, and — on first use — the stream book. Every server thread shares them.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use scorekit_host::local::LocalLoader;
use scorekit_host::{Code, HostError, HostResult};
use scorekit_runtime::{InterruptCheck, Runtime, RuntimeConfig};

use crate::config::Settings;
use crate::models::Registry;
use crate::server;
use crate::streams::Streams;

/// The process-wide state.
pub struct Plugin {
    /// The configuration.
    pub settings: Settings,
    /// The models.
    pub models: Registry,
    /// The policy file in force, re-read when it changes (feature `remote`).
    #[cfg(feature = "remote")]
    pub policies: Arc<crate::policies::WatchedPolicies>,
    streams: Mutex<Option<Arc<Streams>>>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin").field("config", &self.settings.path).finish_non_exhaustive()
    }
}

impl Plugin {
    /// The plugin under `settings`.
    ///
    /// # Errors
    /// [`Code::Unavailable`] when the engine cannot start.
    pub fn new(settings: Settings) -> HostResult<Plugin> {
        let c = &settings.config;
        let cache_dir = match (&c.state_dir, c.compile_cache) {
            (Some(s), true) => Some(s.join("compiled")),
            _ => None,
        };
        let runtime = Runtime::new(RuntimeConfig {
            deadline: Duration::from_millis(c.deadline_ms),
            memory_limit_bytes: c.memory_limit_mb << 20,
            memory_budget_bytes: c.memory_budget_mb.max(c.memory_limit_mb) << 20,
            cache_dir,
            max_idle_instances: c.max_idle_instances.max(1),
            // KILL QUERY (and max_statement_time) reach a running call within one tick.
            interrupt: Some(InterruptCheck::new(server::killed)),
            ..RuntimeConfig::default()
        })
        .map_err(|e| HostError::new(Code::Unavailable, format!("cannot start the wasm engine: {e}")))?;
        let models = Registry::new(
            c.model_dir.clone(),
            LocalLoader::new(runtime),
            settings.pins.clone(),
            c.max_module_mb << 20,
        );
        #[cfg(feature = "remote")]
        {
            let interrupt: scorekit_host::remote::Interrupt = Arc::new(server::killed);
            let policies = Arc::new(crate::policies::WatchedPolicies::new(&settings, interrupt)?);
            let models = models.with_backends(policies.clone());
            Ok(Plugin { settings, models, policies, streams: Mutex::new(None) })
        }
        #[cfg(not(feature = "remote"))]
        {
            if let Some(path) = &c.policy_file {
                return Err(HostError::new(
                    Code::Unavailable,
                    format!(
                        "policy_file {} is set, but this plugin was built without remote endpoints (feature `remote`)",
                        path.display()
                    ),
                ));
            }
            Ok(Plugin { settings, models, streams: Mutex::new(None) })
        }
    }

    /// The stream book, opened (and recovered) on first use; a failed open is retried next time.
    ///
    /// # Errors
    /// As [`Streams::open`].
    pub fn streams(&self) -> HostResult<Arc<Streams>> {
        let mut s = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(open) = s.as_ref() {
            return Ok(open.clone());
        }
        let open = Arc::new(Streams::open(self)?);
        *s = Some(open.clone());
        Ok(open)
    }
}

static PLUGIN: OnceLock<Result<Plugin, String>> = OnceLock::new();

/// The plugin, made on first use from the configuration next to the library (or
/// `$SCOREKIT_MYSQL_CONFIG`). A configuration error is the answer of every call until the server
/// restarts (the file is read once).
///
/// # Errors
/// [`Code::Unavailable`] with the configuration's problem.
pub fn get() -> HostResult<&'static Plugin> {
    PLUGIN
        .get_or_init(|| {
            let library = server::pin_library();
            let settings = Settings::load(library.as_deref())?;
            let p = Plugin::new(settings).map_err(|e| e.message)?;
            server::log(&format!(
                "loaded {} (configuration {}, models in {}, statement kill check: {}, statement errors: {})",
                library.as_deref().map_or("the plugin".into(), |l| l.display().to_string()),
                p.settings.path.display(),
                p.settings.config.model_dir.display(),
                if server::can_check_kill() {
                    "yes"
                } else {
                    "no (the server exports no thd_kill_level with _current_thd, nor thd_killed)"
                },
                if server::can_raise() {
                    "yes"
                } else {
                    "no (the server exports no my_message: a failed row is NULL)"
                },
            ));
            Ok(p)
        })
        .as_ref()
        .map_err(|e| HostError::new(Code::Unavailable, e.clone()))
}
