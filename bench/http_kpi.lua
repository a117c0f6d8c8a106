-- wrk script of bench/http_load.sh: GET requests with an API token, then one
-- machine-readable summary line.
--   FC_TOKEN=fc_... FC_LABEL=kpi wrk ... -s bench/http_kpi.lua URL
-- Prints: FC_WRK label=L requests=N seconds=S rps=R p50_ms=A p99_ms=B
--         max_ms=C non2xx=E socket_errors=F

function init(args)
   local token = os.getenv("FC_TOKEN")
   if token ~= nil and token ~= "" then
      wrk.headers["Authorization"] = "Bearer " .. token
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   local s = summary.duration / 1e6
   io.write(string.format(
      "FC_WRK label=%s requests=%d seconds=%.3f rps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d socket_errors=%d\n",
      os.getenv("FC_LABEL") or "get", summary.requests, s, summary.requests / s,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      e.status, e.connect + e.read + e.write + e.timeout))
end
