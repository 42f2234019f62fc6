//! Databases marked publicly accessible (`aws_db_instance`,
//! `aws_rds_cluster_instance` with `publicly_accessible = true`) and
//! instances given public addresses (`aws_instance` with
//! `associate_public_ip_address = true`), with the security groups that
//! admit the internet to them.

use super::security_group::{OpenGroups, GROUP};
use super::{flag, list, Context, Exposure, ExposureKind, INTERNET};
use crate::model::base_address;

/// Databases marked publicly accessible, instances with public addresses.
pub(super) fn public_databases(ctx: &Context<'_>, open: &OpenGroups, out: &mut Vec<Exposure>) {
    let cases: [(&str, &str, ExposureKind, &str); 3] = [
        (
            "aws_db_instance",
            "/publicly_accessible",
            ExposureKind::PublicDatabase,
            "publicly accessible",
        ),
        (
            "aws_rds_cluster_instance",
            "/publicly_accessible",
            ExposureKind::PublicDatabase,
            "publicly accessible",
        ),
        (
            "aws_instance",
            "/associate_public_ip_address",
            ExposureKind::PublicInstance,
            "public IP address",
        ),
    ];
    for (resource_type, pointer, kind, what) in cases {
        let attribute = pointer.trim_start_matches('/');
        for &r in ctx.of_type(resource_type) {
            let certain = match flag(r, pointer, false) {
                Some(false) => continue,
                Some(true) => true,
                None => false,
            };
            let mut groups: Vec<String> = ctx
                .referred(r, &[GROUP])
                .filter_map(|g| {
                    let admits = open.get(&(g.scope, base_address(&g.address).to_string()))?;
                    Some(format!("{} ({})", g.address, admits.join(", ")))
                })
                .collect();
            groups.sort();
            groups.dedup();
            let through = if groups.is_empty() {
                String::new()
            } else {
                format!(
                    "; security groups admitting the internet: {}",
                    list(&groups)
                )
            };
            let mut e = ctx.entry(kind, r, "", pointer);
            e.certain = certain;
            e.how = if certain {
                format!(
                    "{} is {what} (`{attribute} = true`): it gets a public address{through}.",
                    r.address
                )
            } else {
                format!(
                    "May be {what}: `{attribute}` of {} is not known statically{through}.",
                    r.address
                )
            };
            e.path = vec![INTERNET.to_string()];
            if !groups.is_empty() {
                e.path.push(list(&groups));
            }
            e.path.push(if certain {
                format!("{} ({what})", r.address)
            } else {
                format!("{} (`{attribute}` not known statically)", r.address)
            });
            out.push(e);
        }
    }
}
