//! `octa pki ...`: Octavia's certificate authorities and certificates.
//!
//! The CA passphrase comes from `OCTA_CA_PASSPHRASE` (never a flag: flags show in `ps`)
//! or from the directory's passphrase file; it is never printed.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use octa_bootstrap::pki::{
    self, ImportSources, InitOptions, KeyType, Level, Passphrase, PkiDir, PkiReport, Thresholds,
    profile,
};
use time::OffsetDateTime;

use crate::exit::ExitCode;
use crate::ui::{OutputMode, Ui};

const PASSPHRASE_ENV: &str = "OCTA_CA_PASSPHRASE";

/// Arguments of `octa pki`.
#[derive(Debug, Args)]
pub struct PkiArgs {
    #[command(subcommand)]
    command: PkiCommand,
    /// The PKI directory.
    #[arg(long, global = true, default_value = "/etc/octa/pki")]
    dir: PathBuf,
    /// Print one JSON document instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Create the server CA, client CA and client certificate where missing.
    Init {
        /// Key type of the CAs.
        #[arg(long, default_value = "rsa-4096", value_parser = parse_key_type)]
        key_type: KeyType,
        /// Validity of the CAs, in days.
        #[arg(long, default_value_t = profile::DEFAULT_CA_DAYS)]
        ca_days: u32,
        /// Validity of the client certificate, in days.
        #[arg(long, default_value_t = profile::DEFAULT_CLIENT_DAYS)]
        client_days: u32,
        /// Replace every existing file.
        #[arg(long)]
        force: bool,
    },
    /// Issue an amphora server certificate (certificate and key in one PEM).
    IssueAmphora(IssueAmphoraArgs),
    /// Validate an existing PKI, then copy it into the directory.
    Import {
        /// Server CA certificate.
        #[arg(long)]
        server_ca: PathBuf,
        /// Server CA key (encrypted with OCTA_CA_PASSPHRASE, or clear).
        #[arg(long)]
        server_ca_key: PathBuf,
        /// Client CA certificate.
        #[arg(long)]
        client_ca: PathBuf,
        /// Client CA key (needed later by rotate-client).
        #[arg(long)]
        client_ca_key: Option<PathBuf>,
        /// Client certificate (its key may be in the same file).
        #[arg(long)]
        client_cert: PathBuf,
        /// Client key, if not in the client certificate's file.
        #[arg(long)]
        client_key: Option<PathBuf>,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
    },
    /// Show subjects, validity, fingerprints and verdicts.
    Show,
    /// Check validity and consistency; exit 0 (ok), 10 (warnings) or 3 (critical).
    Check {
        /// Warn when a certificate expires within this many days.
        #[arg(long, default_value_t = 30)]
        warn_days: i64,
        /// Critical when a certificate expires within this many days.
        #[arg(long, default_value_t = 14)]
        crit_days: i64,
    },
    /// Issue a new client certificate from the kept client CA.
    RotateClient {
        /// Validity, in days.
        #[arg(long, default_value_t = profile::DEFAULT_CLIENT_DAYS)]
        days: u32,
    },
}

/// Arguments of `octa pki issue-amphora`.
#[derive(Debug, Args)]
struct IssueAmphoraArgs {
    /// The amphora id (a UUID): the certificate's CN and SAN.
    amphora_id: String,
    /// Where to write the PEM.
    #[arg(long)]
    out: PathBuf,
    /// Validity, in days.
    #[arg(long, default_value_t = profile::DEFAULT_AMPHORA_DAYS)]
    days: u32,
    /// Replace an existing output file.
    #[arg(long)]
    force: bool,
}

impl PkiArgs {
    /// How results and errors are printed.
    pub fn output_mode(&self) -> OutputMode {
        if self.json {
            OutputMode::Json
        } else {
            OutputMode::Human
        }
    }
}

fn parse_key_type(s: &str) -> Result<KeyType, String> {
    s.parse()
}

/// Runs `octa pki`.
pub fn run(args: PkiArgs) -> anyhow::Result<ExitCode> {
    let ui = Ui::new(args.output_mode());
    let dir = PkiDir::new(&args.dir);
    let now = OffsetDateTime::now_utc();
    match args.command {
        PkiCommand::Init {
            key_type,
            ca_days,
            client_days,
            force,
        } => {
            let opts = InitOptions {
                key_type,
                ca_days,
                client_days,
                passphrase: passphrase_from_env(),
                force,
            };
            // PKI errors name their file: one line is the whole story.
            let report = pki::init(&dir, &opts, now)?;
            print_changes(&ui, "created", &report.created, "kept", &report.kept);
            if report.passphrase_generated {
                ui.line(format!(
                    "The CA passphrase was generated and stored in {} (mode 0600).",
                    dir.path(pki::PkiFile::Passphrase).display()
                ));
            }
            ui.json(&report)?;
        }
        PkiCommand::IssueAmphora(issue) => issue_amphora(&ui, &dir, &issue, now)?,
        PkiCommand::Import {
            server_ca,
            server_ca_key,
            client_ca,
            client_ca_key,
            client_cert,
            client_key,
            force,
        } => {
            let src = ImportSources {
                server_ca,
                server_ca_key,
                client_ca,
                client_ca_key,
                client_cert,
                client_key,
            };
            let report = pki::import(&dir, &src, passphrase_from_env(), force, now)?;
            for w in &report.warnings {
                ui.warn(w);
            }
            print_changes(&ui, "written", &report.written, "removed", &report.removed);
            ui.json(&report)?;
        }
        PkiCommand::Show => {
            let report = inspect(&dir, Thresholds::default(), now);
            show(&ui, &report)?;
        }
        PkiCommand::Check {
            warn_days,
            crit_days,
        } => {
            let report = inspect(
                &dir,
                Thresholds {
                    warn_days,
                    crit_days,
                },
                now,
            );
            print_findings(&ui, &report);
            ui.json(&report)?;
            return Ok(match report.level {
                Level::Ok => ExitCode::SUCCESS,
                Level::Warn => ExitCode::WARNINGS,
                Level::Critical => ExitCode::CRITICAL,
            });
        }
        PkiCommand::RotateClient { days } => {
            let path = pki::rotate_client(&dir, days, now)?;
            ui.line(format!("rotated  {}", path.display()));
            ui.json(&serde_json::json!({ "rotated": path }))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn issue_amphora(
    ui: &Ui,
    dir: &PkiDir,
    args: &IssueAmphoraArgs,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    // Bad input first: an invalid id is reported even when the CA cannot be loaded.
    profile::validate_amphora_id(&args.amphora_id)?;
    let ca = pki::Ca::load_server(dir, passphrase_from_env().as_ref())?;
    let cert = pki::issue_amphora_cert(&ca, &args.amphora_id, args.days, now)?;
    pki::write_amphora_pem(&args.out, &cert, args.force)?;
    ui.line(format!(
        "issued   {} for amphora {}, valid until {}",
        args.out.display(),
        args.amphora_id,
        rfc3339(cert.not_after)
    ));
    ui.json(&serde_json::json!({
        "amphora_id": args.amphora_id,
        "path": args.out,
        "not_after": rfc3339(cert.not_after),
    }))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

fn passphrase_from_env() -> Option<Passphrase> {
    std::env::var(PASSPHRASE_ENV)
        .ok()
        .map(|v| Passphrase::new(&v))
        .filter(|p| !p.is_empty())
}

fn inspect(dir: &PkiDir, limits: Thresholds, now: OffsetDateTime) -> PkiReport {
    pki::inspect(dir, passphrase_from_env().as_ref(), limits, now)
}

fn print_changes(ui: &Ui, verb: &str, first: &[PathBuf], other: &str, second: &[PathBuf]) {
    for p in first {
        ui.line(format!("{verb:<8} {}", p.display()));
    }
    for p in second {
        ui.line(format!("{other:<8} {}", p.display()));
    }
}

fn show(ui: &Ui, report: &PkiReport) -> anyhow::Result<()> {
    for c in &report.certificates {
        ui.line(format!("{}", c.path.display()));
        ui.line(format!("  subject      {}", c.subject));
        ui.line(format!("  issuer       {}", c.issuer));
        ui.line(format!("  serial       {}", c.serial));
        ui.line(format!(
            "  valid        {} .. {} ({} days left)",
            c.not_before, c.not_after, c.days_left
        ));
        ui.line(format!("  key          {}", c.key));
        ui.line(format!("  sha256       {}", c.sha256_fingerprint));
        let ids = if c.key_identifiers {
            "SKI and AKI"
        } else {
            "missing"
        };
        ui.line(format!("  key ids      {ids}"));
        let mut usage = c.extended_key_usage.clone();
        if c.is_ca {
            usage.insert(0, "CA".to_owned());
        }
        ui.line(format!("  usage        {}", usage.join(", ")));
        if !c.dns_names.is_empty() {
            ui.line(format!("  dns names    {}", c.dns_names.join(", ")));
        }
    }
    print_findings(ui, report);
    ui.json(report)
}

fn print_findings(ui: &Ui, report: &PkiReport) {
    for f in &report.findings {
        let tag = match f.level {
            Level::Ok => "ok",
            Level::Warn => "WARN",
            Level::Critical => "CRIT",
        };
        ui.line(format!("[{tag:>4}] {}: {}", f.check, f.detail));
    }
}
