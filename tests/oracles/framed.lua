-- A 4-byte big-endian length-prefixed message protocol (the lecture's lab 1.5 framing)
local framed = Proto("framed", "Length-framed message")
local f_len = ProtoField.uint32("framed.length", "Length", base.DEC)
local f_body = ProtoField.bytes("framed.body", "Body")
framed.fields = { f_len, f_body }
local function pdu_len(tvb, pinfo, offset)
  return tvb(offset, 4):uint() + 4
end
local function dissect_pdu(tvb, pinfo, tree)
  pinfo.cols.protocol = "FRAMED"
  local t = tree:add(framed, tvb())
  t:add(f_len, tvb(0, 4))
  t:add(f_body, tvb(4))
  return tvb:len()
end
function framed.dissector(tvb, pinfo, tree)
  dissect_tcp_pdus(tvb, tree, 4, pdu_len, dissect_pdu)
  return tvb:len()
end
DissectorTable.get("tcp.port"):add(9000, framed)
