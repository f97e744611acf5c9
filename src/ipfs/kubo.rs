//! What kotalc knows of kubo's releases from an image reference: enough to tell when an image
//! change needs a repository migration that kubo does not carry.

/// A kubo release, `v0.MINOR.PATCH`, as its image tags name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Release {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl std::fmt::Display for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The first release whose repository is version 16 (repo/fsrepo/fsrepo.go:40
/// `RepoVersion = 16` at v0.30.0, 15 at v0.29.0). The 15 -> 16 step is the last external
/// migration: kubo runs `fs-repo-15-to-16` from PATH, or downloads it from
/// Migration.DownloadSources, public gateways by default
/// (repo/fsrepo/migrations/migrations.go:336-447 at v0.38.2); later steps are built in.
pub const REPO_16: Release = Release {
    major: 0,
    minor: 30,
    patch: 0,
};

/// The release an image's tag names (`kotalco/kubo:v0.38.2`, `ipfs/kubo:v0.38.2@sha256:..`,
/// `registry:5000/kubo:0.38.2-rc1`), or None for a tag that names none (`latest`, a digest
/// alone).
pub fn release(image: &str) -> Option<Release> {
    let name = image.split('@').next().unwrap_or(image);
    let (_, tag) = name
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))?;
    let version = tag.strip_prefix('v').unwrap_or(tag);
    let core = version.split(['-', '+']).next().unwrap_or(version);
    let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
    let (Some(Some(major)), Some(Some(minor)), Some(Some(patch)), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some(Release {
        major,
        minor,
        patch,
    })
}

/// Whether a repository made by `from` needs the external 15 -> 16 migration under `to`.
pub fn crosses_repo_16(from: Release, to: Release) -> bool {
    from < REPO_16 && to >= REPO_16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_releases() {
        let r = |major, minor, patch| {
            Some(Release {
                major,
                minor,
                patch,
            })
        };
        assert_eq!(release("kotalco/kubo:v0.28.0"), r(0, 28, 0));
        assert_eq!(release("ipfs/kubo:v0.38.2@sha256:abcd"), r(0, 38, 2));
        assert_eq!(release("registry:5000/kubo:0.43.1-rc1"), r(0, 43, 1));
        assert_eq!(release("registry:5000/kubo"), None);
        assert_eq!(release("ipfs/kubo:latest"), None);
        assert_eq!(release("ipfs/kubo@sha256:abcd"), None);
        assert_eq!(release("ipfs/kubo:v0.38"), None);
        assert_eq!(release("ipfs/kubo:v0.38.2.1"), None);
    }

    #[test]
    fn only_the_step_to_16_crosses() {
        let v = |t: &str| release(&format!("kubo:{t}")).expect("release");
        assert!(crosses_repo_16(v("v0.28.0"), v("v0.38.2")));
        assert!(crosses_repo_16(v("v0.29.0"), v("v0.30.0")));
        assert!(!crosses_repo_16(v("v0.30.0"), v("v0.43.1")));
        assert!(!crosses_repo_16(v("v0.28.0"), v("v0.29.0")));
        assert!(!crosses_repo_16(v("v0.38.2"), v("v0.28.0")));
    }
}
