-- wrk: cycle through the tile list; PREFIX and SUFFIX wrap each z/x/y (env), the same list for every server.
local paths = {}
local prefix = os.getenv("PREFIX") or "/"
local suffix = os.getenv("SUFFIX") or ""
local order = os.getenv("ORDER") or "zxy"  -- "zyx" for OGC-style paths (tileMatrix/tileRow/tileCol)
for line in io.lines(os.getenv("TILES")) do
  local z, x, y = line:match("(%d+)/(%d+)/(%d+)")
  if order == "zyx" then
    paths[#paths + 1] = prefix .. z .. "/" .. y .. "/" .. x .. suffix
  elseif order == "mapserver" then
    paths[#paths + 1] = prefix .. x .. "+" .. y .. "+" .. z .. suffix
  else
    paths[#paths + 1] = prefix .. z .. "/" .. x .. "/" .. y .. suffix
  end
end
local i = 0
request = function()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
