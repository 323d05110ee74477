//! The session's catalogs, as Flink's `CatalogManager`: catalogs hold databases, databases
//! hold tables and views. `default_catalog` with `default_database` exists from the start;
//! `CREATE CATALOG … WITH ('type' = 'generic_in_memory')` adds more, with a `default`
//! database each.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use datafusion_expr::{Expr, LogicalPlan};

use crate::error::{Error, Result};

pub const DEFAULT_CATALOG: &str = "default_catalog";
pub const DEFAULT_DATABASE: &str = "default_database";

/// A table's event time: its rowtime column and how far the watermark trails it.
#[derive(Clone, Debug, PartialEq)]
pub struct WatermarkSpec {
    pub column: String,
    /// `WATERMARK FOR c AS c - INTERVAL …`: the interval, in milliseconds (0 for `AS c`).
    pub delay_millis: i64,
    /// The expression as written, for DESCRIBE.
    pub expression: String,
}

/// `name AS expression`: a column computed from the physical ones.
#[derive(Clone, Debug)]
pub struct ComputedColumn {
    pub name: String,
    /// The planned expression, over the physical columns.
    pub expression: Expr,
    /// The expression as written, for DESCRIBE.
    pub text: String,
}

/// A table created with `CREATE TABLE … WITH (…)`.
#[derive(Clone, Debug)]
pub struct TableDefinition {
    /// The fully qualified name, for messages: `catalog.database.table`.
    pub qualified_name: String,
    /// The physical columns: what the connector produces.
    pub physical: SchemaRef,
    /// The computed columns, in declaration order after the physical ones.
    pub computed: Vec<ComputedColumn>,
    /// All columns: physical, then computed.
    pub schema: SchemaRef,
    pub watermark: Option<WatermarkSpec>,
    pub primary_key: Vec<String>,
    /// `PARTITIONED BY` columns: physical columns whose values are the folders
    /// (`column=value`) a filesystem table's files lie in, not fields of the files.
    pub partition_keys: Vec<String>,
    pub options: BTreeMap<String, String>,
    pub temporary: bool,
}

impl TableDefinition {
    /// Whether `column` is a processing-time attribute: computed as `PROCTIME()`.
    pub fn is_proctime(&self, column: &str) -> bool {
        self.computed.iter().any(|computed| {
            computed.name == column
                && crate::planner::proctime::is_proctime_expression(&computed.text)
        })
    }
}

/// A view: its planned query.
#[derive(Clone, Debug)]
pub struct ViewDefinition {
    pub qualified_name: String,
    pub query: String,
    pub plan: LogicalPlan,
    pub temporary: bool,
}

#[derive(Clone, Debug)]
pub enum CatalogObject {
    Table(Arc<TableDefinition>),
    View(Arc<ViewDefinition>),
}

#[derive(Clone, Debug, Default)]
struct Database {
    objects: BTreeMap<String, CatalogObject>,
}

#[derive(Clone, Debug)]
struct Catalog {
    databases: BTreeMap<String, Database>,
}

/// A fully qualified object name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectPath {
    pub catalog: String,
    pub database: String,
    pub object: String,
}

impl std::fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.catalog, self.database, self.object)
    }
}

/// Every catalog of a session, and the current catalog and database.
#[derive(Clone, Debug)]
pub struct CatalogManager {
    catalogs: BTreeMap<String, Catalog>,
    current_catalog: String,
    current_database: String,
}

impl Default for CatalogManager {
    fn default() -> Self {
        let mut databases = BTreeMap::new();
        databases.insert(DEFAULT_DATABASE.to_owned(), Database::default());
        let mut catalogs = BTreeMap::new();
        catalogs.insert(DEFAULT_CATALOG.to_owned(), Catalog { databases });
        CatalogManager {
            catalogs,
            current_catalog: DEFAULT_CATALOG.to_owned(),
            current_database: DEFAULT_DATABASE.to_owned(),
        }
    }
}

impl CatalogManager {
    pub fn current_catalog(&self) -> &str {
        &self.current_catalog
    }

    pub fn current_database(&self) -> &str {
        &self.current_database
    }

    pub fn catalog_names(&self) -> Vec<String> {
        self.catalogs.keys().cloned().collect()
    }

    pub fn database_names(&self) -> Vec<String> {
        self.catalogs
            .get(&self.current_catalog)
            .map(|catalog| catalog.databases.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The tables (`views == false`) or views of the current database.
    pub fn object_names(&self, views: bool) -> Vec<String> {
        self.database(&self.current_catalog, &self.current_database)
            .map(|database| {
                database
                    .objects
                    .iter()
                    .filter(|(_, object)| matches!(object, CatalogObject::View(_)) == views)
                    .map(|(name, _)| name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn create_catalog(&mut self, name: &str, options: &[(String, String)]) -> Result<()> {
        if self.catalogs.contains_key(name) {
            return Err(Error::validation(format!("Catalog {name} already exists.")));
        }
        let mut kind = None;
        for (key, value) in options {
            match key.as_str() {
                "type" => kind = Some(value.as_str()),
                "default-database" => {}
                _ => {
                    return Err(Error::Option {
                        table: format!("catalog {name}"),
                        key: key.clone(),
                        message: "unknown catalog option; known options are: type, \
                                  default-database"
                            .into(),
                    });
                }
            }
        }
        match kind {
            Some("generic_in_memory") => {}
            Some(other) => {
                return Err(Error::unsupported(format!("the catalog type '{other}'")));
            }
            None => {
                return Err(Error::Option {
                    table: format!("catalog {name}"),
                    key: "type".into(),
                    message: "missing; set 'type' = 'generic_in_memory'".into(),
                });
            }
        }
        let default_database = options
            .iter()
            .find(|(key, _)| key == "default-database")
            .map_or("default", |(_, value)| value.as_str());
        let mut databases = BTreeMap::new();
        databases.insert(default_database.to_owned(), Database::default());
        self.catalogs.insert(name.to_owned(), Catalog { databases });
        Ok(())
    }

    pub fn drop_catalog(&mut self, name: &str, if_exists: bool) -> Result<()> {
        if name == self.current_catalog {
            return Err(Error::validation(format!(
                "Cannot drop a catalog which is currently in use: {name}; USE CATALOG another \
                 one first"
            )));
        }
        if self.catalogs.remove(name).is_none() && !if_exists {
            return Err(Error::validation(format!("Catalog {name} does not exist.")));
        }
        Ok(())
    }

    pub fn use_catalog(&mut self, name: &str) -> Result<()> {
        let catalog = self
            .catalogs
            .get(name)
            .ok_or_else(|| Error::validation(format!("Catalog {name} does not exist.")))?;
        let database = if catalog.databases.contains_key(DEFAULT_DATABASE) {
            DEFAULT_DATABASE.to_owned()
        } else {
            catalog.databases.keys().next().cloned().unwrap_or_default()
        };
        self.current_catalog = name.to_owned();
        self.current_database = database;
        Ok(())
    }

    /// `[catalog.]database` to (catalog, database).
    fn database_path(&self, name: &[String]) -> Result<(String, String)> {
        match name {
            [database] => Ok((self.current_catalog.clone(), database.clone())),
            [catalog, database] => Ok((catalog.clone(), database.clone())),
            _ => Err(Error::validation(format!(
                "'{}' is not a database name: write database or catalog.database",
                name.join(".")
            ))),
        }
    }

    pub fn create_database(&mut self, name: &[String], if_not_exists: bool) -> Result<()> {
        let (catalog, database) = self.database_path(name)?;
        let databases = &mut self.catalog_mut(&catalog)?.databases;
        if databases.contains_key(&database) {
            if if_not_exists {
                return Ok(());
            }
            return Err(Error::validation(format!(
                "Database {database} already exists in Catalog {catalog}."
            )));
        }
        databases.insert(database, Database::default());
        Ok(())
    }

    pub fn drop_database(&mut self, name: &[String], if_exists: bool, cascade: bool) -> Result<()> {
        let (catalog, database) = self.database_path(name)?;
        if catalog == self.current_catalog && database == self.current_database {
            return Err(Error::validation(format!(
                "Cannot drop a database which is currently in use: {database}; USE another \
                 database first"
            )));
        }
        let databases = &mut self.catalog_mut(&catalog)?.databases;
        match databases.get(&database) {
            None if if_exists => Ok(()),
            None => Err(Error::validation(format!(
                "Database {database} does not exist in Catalog {catalog}."
            ))),
            Some(db) if !db.objects.is_empty() && !cascade => Err(Error::validation(format!(
                "Database {database} in catalog {catalog} is not empty; drop its tables and \
                 views first, or use DROP DATABASE … CASCADE"
            ))),
            Some(_) => {
                databases.remove(&database);
                Ok(())
            }
        }
    }

    pub fn use_database(&mut self, name: &[String]) -> Result<()> {
        let (catalog, database) = self.database_path(name)?;
        if self.database(&catalog, &database).is_none() {
            return Err(Error::validation(format!(
                "A database with name [{database}] does not exist in the catalog: [{catalog}]."
            )));
        }
        self.current_catalog = catalog;
        self.current_database = database;
        Ok(())
    }

    /// Qualifies `[[catalog.]database.]object` with the current catalog and database.
    pub fn qualify(&self, name: &[String]) -> Result<ObjectPath> {
        let (catalog, database, object) = match name {
            [object] => (&self.current_catalog, &self.current_database, object),
            [database, object] => (&self.current_catalog, database, object),
            [catalog, database, object] => (catalog, database, object),
            _ => {
                return Err(Error::validation(format!(
                    "'{}' is not a table name: write table, database.table or \
                     catalog.database.table",
                    name.join(".")
                )));
            }
        };
        Ok(ObjectPath {
            catalog: catalog.clone(),
            database: database.clone(),
            object: object.clone(),
        })
    }

    pub fn get(&self, path: &ObjectPath) -> Option<&CatalogObject> {
        self.database(&path.catalog, &path.database)?
            .objects
            .get(&path.object)
    }

    /// Adds a table or view; an existing one is an error unless `if_not_exists`.
    pub fn create(
        &mut self,
        path: &ObjectPath,
        object: CatalogObject,
        if_not_exists: bool,
    ) -> Result<()> {
        let catalog = self.catalog_mut(&path.catalog)?;
        let database = catalog.databases.get_mut(&path.database).ok_or_else(|| {
            Error::validation(format!(
                "Database {} does not exist in Catalog {}.",
                path.database, path.catalog
            ))
        })?;
        if database.objects.contains_key(&path.object) {
            if if_not_exists {
                return Ok(());
            }
            return Err(Error::validation(format!(
                "Could not execute CreateTable in path `{}`.`{}`.`{}`: the table or view \
                 already exists",
                path.catalog, path.database, path.object
            )));
        }
        database.objects.insert(path.object.clone(), object);
        Ok(())
    }

    pub fn drop(&mut self, path: &ObjectPath, view: bool, if_exists: bool) -> Result<()> {
        let kind = if view { "View" } else { "Table" };
        let exists = matches!(
            (self.get(path), view),
            (Some(CatalogObject::View(_)), true) | (Some(CatalogObject::Table(_)), false)
        );
        if !exists {
            if if_exists {
                return Ok(());
            }
            return Err(Error::validation(format!(
                "{kind} with identifier '{path}' does not exist."
            )));
        }
        if let Ok(catalog) = self.catalog_mut(&path.catalog)
            && let Some(database) = catalog.databases.get_mut(&path.database)
        {
            database.objects.remove(&path.object);
        }
        Ok(())
    }

    fn database(&self, catalog: &str, database: &str) -> Option<&Database> {
        self.catalogs.get(catalog)?.databases.get(database)
    }

    fn catalog_mut(&mut self, name: &str) -> Result<&mut Catalog> {
        self.catalogs
            .get_mut(name)
            .ok_or_else(|| Error::validation(format!("Catalog {name} does not exist.")))
    }
}
