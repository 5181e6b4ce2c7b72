//! The Supabase REST client: one project, one schema, the server key.

use rep_core::{EntityConfig, EnvSettings, SourceSettings, Window};

use crate::error::{RequestContext, RpcContext, SourceError};
use crate::postgrest::auth::PREFER_UTC;
use crate::postgrest::filter::{encode_query, probe_query};
use crate::postgrest::paging::{get_rows, read_kind};
use crate::postgrest::rpc::applied_versions;
use crate::postgrest::transport::Transport;
use crate::source::{KindRead, RowSink, RowSource};

/// Reads tables of one Supabase project through its REST API (`<project>/rest/v1/`) with the
/// server key.
///
/// The key travels in headers only (never in a URL) and is never logged: logs and errors
/// show at most [`rep_core::ApiKey::label`].
#[derive(Debug, Clone)]
pub struct SupabaseClient {
    transport: Transport,
    schema: String,
    page_size: u32,
    key_label: String,
}

impl SupabaseClient {
    /// A client for the project of `env` with the server key, reading `settings.schema`.
    pub fn new(
        env: &EnvSettings,
        settings: &SourceSettings,
    ) -> Result<SupabaseClient, SourceError> {
        let transport =
            Transport::new(env, settings).map_err(|message| SourceError::Setup { message })?;
        Ok(SupabaseClient {
            transport,
            schema: settings.schema.clone(),
            page_size: settings.page_size.max(1),
            key_label: env.service_role_key.label(),
        })
    }

    /// The key's kind and first characters, safe for logs and reports.
    pub fn key_label(&self) -> &str {
        &self.key_label
    }

    /// The versions of the migrations applied to the project, as `supabase migration list`
    /// reads them from `supabase_migrations.schema_migrations`: sorted and distinct.
    ///
    /// That schema is not exposed through the REST API, so they are read by calling `rpc`
    /// (`POST <project>/rest/v1/rpc/<rpc>` with `{}`), a `SECURITY DEFINER` function of the
    /// configured schema that only `service_role` may execute
    /// (`fixtures/source/migrations_rpc.sql`). It may return `SETOF text` or rows with a
    /// `version` column.
    pub async fn applied_migrations(&self, rpc: &str) -> Result<Vec<String>, SourceError> {
        // The name becomes a URL path segment: anything but a plain identifier could point
        // the call somewhere else.
        let plain = rpc.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && rpc.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain {
            return Err(SourceError::Setup {
                message: format!(
                    "function name {rpc:?} is not a plain identifier: set [migrations] rpc to the function's name"
                ),
            });
        }
        let context = RpcContext {
            function: format!("{}.{rpc}", self.schema),
            key_label: &self.key_label,
        };
        tracing::info!(function = %context.function, key = %self.key_label, "reading the applied migrations");
        applied_versions(&self.transport, &context, rpc).await
    }

    fn context<'a>(&'a self, entity: &'a EntityConfig) -> RequestContext<'a> {
        RequestContext {
            entity_kind: Some(&entity.kind),
            table: &entity.table,
            key_column: &entity.key,
            watermark_column: &entity.watermark,
            schema: &self.schema,
            key_label: &self.key_label,
        }
    }
}

impl RowSource for SupabaseClient {
    async fn read_window(
        &self,
        entity: &EntityConfig,
        window: &Window,
        sink: &mut RowSink<'_>,
    ) -> Result<KindRead, SourceError> {
        tracing::info!(
            entity_kind = %entity.kind,
            table = %entity.table,
            key = %self.key_label,
            "reading window {}..{}",
            window.start_text(),
            window.end_text()
        );
        let context = self.context(entity);
        read_kind(
            &self.transport,
            &context,
            entity,
            window,
            self.page_size,
            sink,
        )
        .await
    }

    async fn probe(&self, entity: &EntityConfig) -> Result<(), SourceError> {
        let url = self.transport.table_url(&entity.table);
        let context = self.context(entity);
        let query = encode_query(&probe_query(entity));
        let (_, rows) =
            get_rows(&self.transport, &context, entity, &url, &query, PREFER_UTC).await?;
        // An empty table proves only that the columns parse; a row proves they come back.
        if let Some(row) = rows.first() {
            for column in [&entity.key, &entity.watermark] {
                if row.get(column.as_str()).is_none() {
                    return Err(SourceError::ColumnMissing {
                        entity_kind: entity.kind.clone(),
                        table: entity.table.clone(),
                        column: Some(column.clone()),
                        role: if *column == entity.key {
                            "key column"
                        } else {
                            "watermark column"
                        },
                        postgrest: None,
                    });
                }
            }
        }
        Ok(())
    }
}
