// The rendezvous' STUN Binding policy, on netcore's STUN codec (RFC 8489, written from the RFC).
#include "stun_binding.hpp"

namespace rendezvous::stun {

namespace codec = netcore::detail::stun;

namespace {

// RFC 5780 §7.2: the "change IP" and "change port" flags of CHANGE-REQUEST's value.
constexpr std::uint32_t kChangeFlags = 0x06;

}  // namespace

const char* to_string(Result r) {
    switch (r) {
        case Result::binding_request:
            return "binding_request";
        case Result::not_stun:
            return "not_stun";
        case Result::not_binding_request:
            return "not_binding_request";
        case Result::change_request:
            return "change_request";
        case Result::bad_length:
            return "bad_length";
        case Result::bad_attribute:
            return "bad_attribute";
        case Result::bad_fingerprint:
            return "bad_fingerprint";
        case Result::too_large:
            return "too_large";
    }
    return "?";
}

bool looks_like_stun(std::span<const std::uint8_t> d) {
    if (d.size() < codec::kHeaderSize) return false;
    if ((d[0] & 0xC0) != 0) return false;  // RFC 8489 §5: the two most significant bits are 0
    const std::uint32_t cookie = (std::uint32_t{d[4]} << 24) | (std::uint32_t{d[5]} << 16) |
                                 (std::uint32_t{d[6]} << 8) | d[7];
    // The magic cookie, or (RFC 3489) a Binding request's type without it.
    return cookie == codec::kMagicCookie || (d[0] == 0x00 && d[1] == 0x01);
}

Result parse(std::span<const std::uint8_t> d, BindingRequest& out) {
    if (!looks_like_stun(d)) return Result::not_stun;
    if (d.size() > kMaxRequestSize) return Result::too_large;  // before any other work

    // Every attribute is walked, even for messages we will not answer, so "malformed" is one
    // rule; unknown ones, comprehension-required or not, are skipped (docs/PROTOCOL.md §10).
    codec::Message m;
    switch (codec::parse(d, m, codec::Classic::accept_binding_request)) {
        case codec::ParseError::ok:
            break;
        case codec::ParseError::bad_length:
            return Result::bad_length;
        case codec::ParseError::bad_attribute:
            return Result::bad_attribute;
        case codec::ParseError::bad_fingerprint:
            return Result::bad_fingerprint;
        case codec::ParseError::too_short:  // unreachable: looks_like_stun() held
        case codec::ParseError::not_stun:
        case codec::ParseError::bad_cookie:
            return Result::not_stun;
    }
    if (m.method() != codec::Method::binding || m.cls() != codec::Class::request)
        return Result::not_binding_request;
    if ((m.u32(codec::Attr::change_request).value_or(0) & kChangeFlags) != 0)
        return Result::change_request;
    out.transaction = m.legacy_transaction();
    out.classic = m.classic();
    out.fingerprint = m.has_fingerprint();
    return Result::binding_request;
}

std::size_t write_binding_response(const BindingRequest& request, netcore::Address mapped,
                                   std::span<std::uint8_t> out) {
    auto w = codec::Writer::echoing(out, codec::Method::binding, codec::Class::success,
                                    request.transaction);
    if (request.classic)  // RFC 3489 predates XOR-MAPPED-ADDRESS; RFC 8489 §12 answers with this
        w.add_address(codec::Attr::mapped_address, mapped);
    else
        w.add_xor_address(codec::Attr::xor_mapped_address, mapped);
    if (request.fingerprint) w.add_fingerprint();
    return w.bytes().size();
}

}  // namespace rendezvous::stun
