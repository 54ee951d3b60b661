//! [`Endpoint`]: every MEXC REST endpoint the client speaks, with its method, path, weight and
//! whether it is signed.

use std::fmt;

use crate::limiter::Scope;

/// HTTP method of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }

    pub(crate) fn to_http(self) -> hyper::Method {
        match self {
            Self::Get => hyper::Method::GET,
            Self::Post => hyper::Method::POST,
            Self::Put => hyper::Method::PUT,
            Self::Delete => hyper::Method::DELETE,
        }
    }
}

/// Which base URL an endpoint lives under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host {
    /// The spot API (`https://api.mexc.com`).
    Spot,
    /// The futures API (`https://contract.mexc.com`).
    Futures,
}

macro_rules! method {
    (GET) => {
        Method::Get
    };
    (POST) => {
        Method::Post
    };
    (PUT) => {
        Method::Put
    };
    (DELETE) => {
        Method::Delete
    };
}

macro_rules! endpoints {
    ($($(#[$doc:meta])* $variant:ident = ($method:ident, $path:literal, $weight:literal, $signed:literal, $host:ident),)*) => {
        /// A MEXC REST endpoint.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Endpoint {
            $($(#[$doc])* $variant,)*
        }

        impl Endpoint {
            /// Every endpoint, in declaration order ([`Endpoint::index`] is the position).
            pub const ALL: &'static [Endpoint] = &[$(Endpoint::$variant,)*];

            /// The HTTP method.
            pub fn method(self) -> Method {
                match self { $(Self::$variant => method!($method),)* }
            }

            /// The path, e.g. `/api/v3/depth`.
            pub fn path(self) -> &'static str {
                match self { $(Self::$variant => $path,)* }
            }

            /// The venue's weight for one call.
            pub fn weight(self) -> u32 {
                match self { $(Self::$variant => $weight,)* }
            }

            /// Whether the call is signed (API key, timestamp, signature).
            pub fn is_signed(self) -> bool {
                match self { $(Self::$variant => $signed,)* }
            }

            /// Which base URL it lives under.
            pub fn host(self) -> Host {
                match self { $(Self::$variant => Host::$host,)* }
            }

            /// `METHOD /path`, the name of its rate-limit bucket.
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => concat!(stringify!($method), " ", $path),)* }
            }
        }
    };
}

endpoints! {
    /// `GET /api/v3/ping`.
    Ping = (GET, "/api/v3/ping", 1, false, Spot),
    /// `GET /api/v3/time`.
    Time = (GET, "/api/v3/time", 1, false, Spot),
    /// `GET /api/v3/exchangeInfo`.
    ExchangeInfo = (GET, "/api/v3/exchangeInfo", 10, false, Spot),
    /// `GET /api/v3/depth`.
    Depth = (GET, "/api/v3/depth", 1, false, Spot),
    /// `GET /api/v3/ticker/bookTicker`.
    BookTicker = (GET, "/api/v3/ticker/bookTicker", 1, false, Spot),
    /// `GET /api/v3/ticker/price`.
    PriceTicker = (GET, "/api/v3/ticker/price", 1, false, Spot),
    /// `GET /api/v3/ticker/24hr`.
    Ticker24h = (GET, "/api/v3/ticker/24hr", 1, false, Spot),
    /// `POST /api/v3/order` (signed).
    NewOrder = (POST, "/api/v3/order", 1, true, Spot),
    /// `POST /api/v3/order/test` (signed).
    TestOrder = (POST, "/api/v3/order/test", 1, true, Spot),
    /// `DELETE /api/v3/order` (signed).
    CancelOrder = (DELETE, "/api/v3/order", 1, true, Spot),
    /// `DELETE /api/v3/openOrders` (signed).
    CancelAllOrders = (DELETE, "/api/v3/openOrders", 1, true, Spot),
    /// `GET /api/v3/openOrders` (signed).
    OpenOrders = (GET, "/api/v3/openOrders", 3, true, Spot),
    /// `GET /api/v3/order` (signed).
    QueryOrder = (GET, "/api/v3/order", 2, true, Spot),
    /// `GET /api/v3/allOrders` (signed).
    AllOrders = (GET, "/api/v3/allOrders", 10, true, Spot),
    /// `GET /api/v3/account` (signed; also limited to 2 per second).
    Account = (GET, "/api/v3/account", 10, true, Spot),
    /// `POST /api/v3/userDataStream` (signed).
    CreateListenKey = (POST, "/api/v3/userDataStream", 1, true, Spot),
    /// `GET /api/v3/userDataStream` (signed).
    ListListenKeys = (GET, "/api/v3/userDataStream", 1, true, Spot),
    /// `PUT /api/v3/userDataStream` (signed).
    KeepAliveListenKey = (PUT, "/api/v3/userDataStream", 1, true, Spot),
    /// `DELETE /api/v3/userDataStream` (signed).
    CloseListenKey = (DELETE, "/api/v3/userDataStream", 1, true, Spot),
    /// `GET /api/v3/capital/config/getall` (signed).
    CoinConfig = (GET, "/api/v3/capital/config/getall", 10, true, Spot),
    /// `GET /api/v1/contract/detail` (futures venue).
    ContractDetail = (GET, "/api/v1/contract/detail", 1, false, Futures),
}

impl Endpoint {
    /// The endpoint's position in [`Endpoint::ALL`].
    pub fn index(self) -> usize {
        // Fieldless enum in declaration order, the order of `ALL` (checked by a test).
        self as usize
    }

    /// Whose budget it counts against: the IP for public calls, the account for signed ones.
    pub fn scope(self) -> Scope {
        if self.is_signed() {
            Scope::Account
        } else {
            Scope::Ip
        }
    }

    /// Whether the call changes orders: a 5xx or a timeout leaves its outcome unknown.
    pub fn mutates_orders(self) -> bool {
        matches!(
            self,
            Self::NewOrder | Self::CancelOrder | Self::CancelAllOrders
        )
    }

    /// Whether the call places (or validates) an order: venue rejections of the request are
    /// reported as invalid orders.
    pub fn places_order(self) -> bool {
        matches!(self, Self::NewOrder | Self::TestOrder)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_weights_and_indices() {
        assert_eq!(Endpoint::Depth.name(), "GET /api/v3/depth");
        assert_eq!(Endpoint::CloseListenKey.method(), Method::Delete);
        assert_eq!(Endpoint::Account.weight(), 10);
        assert!(Endpoint::NewOrder.is_signed() && Endpoint::NewOrder.mutates_orders());
        assert_eq!(Endpoint::ContractDetail.host(), Host::Futures);
        for (i, e) in Endpoint::ALL.iter().enumerate() {
            assert_eq!(e.index(), i);
        }
    }
}
