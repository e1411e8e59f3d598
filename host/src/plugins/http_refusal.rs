//! `wasi:http`, linked so that every request is refused. jco's default
//! JavaScript build imports it (for `fetch`), as other toolchains may: such a
//! component is accepted, and its request fails with `HTTP-request-denied`,
//! an error the plugin sees and the call record shows, before anything is
//! resolved or connected. A plugin is never granted the network.

use wasmtime::component::Linker;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use super::sandbox::CallState;

/// The hooks of a call's `wasi:http`: every request denied.
#[derive(Debug, Default)]
pub struct RefuseEveryRequest;

type SentRequest = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for RefuseEveryRequest {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _response_done: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> SentRequest {
        tracing::debug!(uri = %request.uri(), "a plugin's HTTP request was refused");
        Box::new(async { Err(Error::HttpRequestDenied) })
    }
}

/// What a call's store holds for `wasi:http`.
#[derive(Default)]
pub struct CallHttp {
    ctx: WasiHttpCtx,
    hooks: RefuseEveryRequest,
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        let (http, table) = self.http_parts();
        WasiHttpCtxView {
            ctx: &mut http.ctx,
            table,
            hooks: &mut http.hooks,
        }
    }
}

/// Links `wasi:http/types` and `wasi:http/outgoing-handler`.
pub fn link(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(linker)
}
