-- wrk script: POST the review in $REVIEW_JSON over keep-alive, as kube-apiserver does.
-- No response() callback: parsing every answer in Lua would make wrk the bottleneck.
local file = assert(io.open(os.getenv("REVIEW_JSON") or "review.json", "rb"))
local body = file:read("*a")
file:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, */*"
