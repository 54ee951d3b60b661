//! [`Markets`]: the configured markets, by venue code, with their trading rules once loaded.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use crate::domain::rules::SymbolRules;
use crate::domain::symbol::Symbol;
use crate::error::ExchangeError;
use crate::venue::Venue;

/// The markets of an exchange: symbol, venue code, and rules (after [`Markets::load`]).
#[derive(Debug)]
pub(crate) struct Markets {
    symbols: Vec<(Symbol, String)>,
    rules: RwLock<HashMap<String, SymbolRules>>,
}

impl Markets {
    pub(crate) fn new(venue: &dyn Venue, symbols: &[Symbol]) -> Self {
        Self {
            symbols: symbols
                .iter()
                .map(|symbol| (symbol.clone(), venue.symbol_code(symbol)))
                .collect(),
            rules: RwLock::default(),
        }
    }

    /// The configured symbols.
    pub(crate) fn symbols(&self) -> impl Iterator<Item = &Symbol> {
        self.symbols.iter().map(|(symbol, _)| symbol)
    }

    /// The venue codes of the configured symbols.
    pub(crate) fn codes(&self) -> impl Iterator<Item = &str> {
        self.symbols.iter().map(|(_, code)| code.as_str())
    }

    /// The venue code of a configured symbol.
    pub(crate) fn code(&self, symbol: &Symbol) -> Result<&str, ExchangeError> {
        self.symbols
            .iter()
            .find(|(s, _)| s == symbol)
            .map(|(_, code)| code.as_str())
            .ok_or_else(|| ExchangeError::UnknownSymbol(symbol.to_string()))
    }

    /// The configured symbols with their venue codes.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&Symbol, &str)> {
        self.symbols
            .iter()
            .map(|(symbol, code)| (symbol, code.as_str()))
    }

    /// The symbol of a venue code.
    pub(crate) fn symbol_of(&self, code: &str) -> Option<&Symbol> {
        self.symbols
            .iter()
            .find(|(_, c)| c == code)
            .map(|(symbol, _)| symbol)
    }

    /// The rules of a configured symbol (loaded at start).
    pub(crate) fn rules(&self, symbol: &Symbol) -> Result<SymbolRules, ExchangeError> {
        let code = self.code(symbol)?;
        self.rules
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(code)
            .cloned()
            .ok_or_else(|| ExchangeError::UnknownSymbol(symbol.to_string()))
    }

    /// Loads the rules of every configured market; a market the venue does not list is an
    /// error.
    pub(crate) async fn load(&self, venue: &dyn Venue) -> Result<(), ExchangeError> {
        let codes: Vec<&str> = self.codes().collect();
        if codes.is_empty() {
            return Ok(());
        }
        let loaded: HashMap<String, SymbolRules> =
            venue.market_rules(&codes).await?.into_iter().collect();
        *self.rules.write().unwrap_or_else(PoisonError::into_inner) = loaded;
        Ok(())
    }
}
