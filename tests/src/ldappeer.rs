//! A real OpenLDAP `slapd` (Debian's package) with the ppolicy overlay, started on loopback in
//! a temp dir with its own config and database, and a client to set it up and look at it.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ldap3::{LdapConnAsync, Mod, Scope, SearchEntry};

pub const SUFFIX: &str = "dc=city,dc=example,dc=jp";
pub const ADMIN_DN: &str = "cn=admin,dc=city,dc=example,dc=jp";
pub const ADMIN_PW: &str = "slapd-admin-password-for-tests";

/// A running slapd (killed on drop).
pub struct Slapd {
    pub url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Slapd {
    /// Starts slapd with a `dc=city,dc=example,dc=jp` tree, a default password policy
    /// (lockout after 3 failures, change after reset) and no people yet.
    pub async fn start() -> anyhow::Result<Self> {
        let slapd = ["/usr/sbin/slapd", "/usr/local/sbin/slapd"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .context(
                "slapd is not installed (apt-get install slapd ldap-utils; tests/run.sh does)",
            )?;
        let dir = tempfile::Builder::new()
            .prefix("madoguchi-slapd-")
            .tempdir()?;
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data)?;
        let conf = dir.path().join("slapd.conf");
        std::fs::write(
            &conf,
            format!(
                r#"include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile {dir}/slapd.pid
database mdb
maxsize 104857600
suffix "{SUFFIX}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PW}
directory {data}
overlay ppolicy
ppolicy_default "cn=default,ou=policies,{SUFFIX}"
ppolicy_use_lockout
"#,
                dir = dir.path().display(),
                data = data.display()
            ),
        )?;
        let port = free_port()?;
        let url = format!("ldap://127.0.0.1:{port}");
        let child = Command::new(slapd)
            .arg("-f")
            .arg(&conf)
            .arg("-h")
            .arg(format!("{url}/"))
            .arg("-d")
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("slapd")?;
        let mut me = Self {
            url,
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            if let Some(status) = me.child.try_wait()? {
                let mut err = String::new();
                if let Some(mut e) = me.child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                anyhow::bail!("slapd exited with {status}: {err}");
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "slapd did not listen within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        me.seed().await?;
        Ok(me)
    }

    async fn admin(&self) -> anyhow::Result<ldap3::Ldap> {
        let (conn, mut ldap) = LdapConnAsync::new(&self.url).await?;
        ldap3::drive!(conn);
        ldap.simple_bind(ADMIN_DN, ADMIN_PW).await?.success()?;
        Ok(ldap)
    }

    async fn seed(&mut self) -> anyhow::Result<()> {
        let mut l = self.admin().await?;
        let set = |v: &[&'static str]| v.iter().copied().collect::<HashSet<&str>>();
        l.add(
            SUFFIX,
            vec![
                ("objectClass", set(&["dcObject", "organization"])),
                ("dc", set(&["city"])),
                ("o", set(&["さくら市"])),
            ],
        )
        .await?
        .success()?;
        for ou in ["people", "policies"] {
            l.add(
                &format!("ou={ou},{SUFFIX}"),
                vec![
                    ("objectClass", set(&["organizationalUnit"])),
                    ("ou", HashSet::from([ou])),
                ],
            )
            .await?
            .success()?;
        }
        l.add(
            &format!("cn=default,ou=policies,{SUFFIX}"),
            vec![
                ("objectClass", set(&["device", "pwdPolicy"])),
                ("cn", set(&["default"])),
                ("pwdAttribute", set(&["userPassword"])),
                ("pwdLockout", set(&["TRUE"])),
                ("pwdMaxFailure", set(&["3"])),
                ("pwdMustChange", set(&["TRUE"])),
                ("pwdAllowUserChange", set(&["TRUE"])),
            ],
        )
        .await?
        .success()?;
        Ok(())
    }

    /// Adds a person with a password; returns the DN.
    pub async fn add_person(
        &self,
        uid: &str,
        mail: &str,
        password: &str,
    ) -> anyhow::Result<String> {
        let mut l = self.admin().await?;
        let dn = format!("uid={uid},ou=people,{SUFFIX}");
        l.add(
            &dn,
            vec![
                ("objectClass", HashSet::from(["inetOrgPerson"])),
                ("uid", HashSet::from([uid])),
                ("cn", HashSet::from([uid])),
                ("sn", HashSet::from([uid])),
                ("mail", HashSet::from([mail])),
                ("userPassword", HashSet::from([password])),
            ],
        )
        .await?
        .success()?;
        Ok(dn)
    }

    /// Whether `dn` can bind with `password`.
    pub async fn can_bind(&self, dn: &str, password: &str) -> anyhow::Result<bool> {
        let (conn, mut ldap) = LdapConnAsync::new(&self.url).await?;
        ldap3::drive!(conn);
        let r = ldap.simple_bind(dn, password).await?;
        let _ = ldap.unbind().await;
        Ok(r.rc == 0)
    }

    /// The entry's operational ppolicy attributes (`pwdReset`, `pwdAccountLockedTime`, ...).
    pub async fn policy_state(
        &self,
        dn: &str,
    ) -> anyhow::Result<std::collections::HashMap<String, Vec<String>>> {
        let mut l = self.admin().await?;
        let (rs, _) = l
            .search(
                dn,
                Scope::Base,
                "(objectClass=*)",
                vec![
                    "pwdReset",
                    "pwdAccountLockedTime",
                    "pwdFailureTime",
                    "pwdChangedTime",
                ],
            )
            .await?
            .success()?;
        Ok(rs
            .into_iter()
            .next()
            .map(|e| SearchEntry::construct(e).attrs)
            .unwrap_or_default())
    }

    /// Sets an attribute as the admin (to prepare a state).
    pub async fn replace(&self, dn: &str, attr: &str, value: &str) -> anyhow::Result<()> {
        let mut l = self.admin().await?;
        l.modify(dn, vec![Mod::Replace(attr, HashSet::from([value]))])
            .await?
            .success()?;
        Ok(())
    }
}
