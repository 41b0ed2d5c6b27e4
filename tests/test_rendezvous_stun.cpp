// STUN Binding on the rendezvous port: its policy (what is answered, and with what) byte by byte
// (RFC 8489), then the Server. The codec itself is tests/test_stun_message.cpp's.
#include <catch2/catch.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rendezvous_test_support.hpp"
#include "rfc5769.hpp"
#include "stun_binding.hpp"
#include "stun_message.hpp"

using namespace rendezvous;
using namespace rendezvous::testing;
using netcore::Address;
namespace codec = netcore::detail::stun;

namespace {

const Address kClient{0xC0000201u, 32853};  // 192.0.2.1:32853 (port 0x8055)

// A Binding request with no attributes (RFC 8489 §5): type 0x0001, length 0, the magic cookie,
// transaction id 01 02 .. 0C.
std::vector<std::uint8_t> binding_request() {
    return {0x00, 0x01, 0x00, 0x00,                          // Binding request, length 0
            0x21, 0x12, 0xA4, 0x42,                          // magic cookie
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // transaction id
            0x09, 0x0A, 0x0B, 0x0C};
}

// Appends an attribute (type, value padded to 4 bytes) and fixes the header's length.
void add_attribute(std::vector<std::uint8_t>& m, std::uint16_t type,
                   std::vector<std::uint8_t> value) {
    m.push_back(static_cast<std::uint8_t>(type >> 8));
    m.push_back(static_cast<std::uint8_t>(type));
    m.push_back(static_cast<std::uint8_t>(value.size() >> 8));
    m.push_back(static_cast<std::uint8_t>(value.size()));
    m.insert(m.end(), value.begin(), value.end());
    while (m.size() % 4 != 0) m.push_back(0);
    const auto length = m.size() - codec::kHeaderSize;
    m[2] = static_cast<std::uint8_t>(length >> 8);
    m[3] = static_cast<std::uint8_t>(length);
}

// Appends FINGERPRINT: the length must count it before the CRC is taken (RFC 8489 §14.7).
void add_fingerprint(std::vector<std::uint8_t>& m) {
    add_attribute(m, 0x8028, {0, 0, 0, 0});
    const auto crc = codec::crc32(std::span(m.data(), m.size() - 8)) ^ codec::kFingerprintXor;
    for (int i = 0; i < 4; ++i)
        m[m.size() - 4 + static_cast<std::size_t>(i)] =
            static_cast<std::uint8_t>(crc >> (24 - 8 * i));
}

stun::Result parse(const std::vector<std::uint8_t>& m) {
    stun::BindingRequest r;
    return stun::parse(m, r);
}

std::vector<std::uint8_t> respond(const std::vector<std::uint8_t>& request, Address to) {
    stun::BindingRequest r;
    REQUIRE(stun::parse(request, r) == stun::Result::binding_request);
    std::vector<std::uint8_t> out(64);
    const auto n = stun::write_binding_response(r, to, out);
    REQUIRE(n > 0);
    out.resize(n);
    return out;
}

}  // namespace

TEST_CASE("RFC 5769's sample request is answered, and its FINGERPRINT echoed", "[unit][stun]") {
    // Its MESSAGE-INTEGRITY (a short-term credential we do not hold) is not checked: a Binding
    // answer tells the sender only what it could see itself (docs/PROTOCOL.md §10).
    stun::BindingRequest r;
    REQUIRE(stun::parse(rfc5769::kSampleRequest, r) == stun::Result::binding_request);
    CHECK(r.fingerprint);
    CHECK_FALSE(r.classic);
    const auto response = respond(rfc5769::kSampleRequest, kClient);
    REQUIRE(response.size() == 40);
    CHECK(std::vector<std::uint8_t>(response.begin() + 4, response.begin() + 20) ==
          std::vector<std::uint8_t>(rfc5769::kSampleRequest.begin() + 4,
                                    rfc5769::kSampleRequest.begin() + 20));
}

TEST_CASE("a STUN request longer than 548 bytes is dropped unanswered before it is parsed",
          "[unit][stun]") {
    // A valid Binding request, FINGERPRINT and all, grown by a SOFTWARE attribute to exactly
    // the bound: answered. 4 bytes more: dropped and counted, though it is just as valid.
    const auto request_of = [](std::size_t size) {
        auto m = binding_request();
        add_attribute(m, 0x8022, std::vector<std::uint8_t>(size - 20 - 4 - 8, 'x'));
        add_fingerprint(m);
        REQUIRE(m.size() == size);
        return m;
    };
    Harness h;
    CHECK(h.raw(kClient, request_of(stun::kMaxRequestSize)).size() == 1);
    const auto oversized = request_of(stun::kMaxRequestSize + 4);
    stun::BindingRequest r;
    CHECK(stun::parse(oversized, r) == stun::Result::too_large);
    CHECK(h.raw(kClient, oversized).empty());
    // The largest UDP payload: dropped the same way (even with a length field that disagrees).
    auto huge = binding_request();
    huge.resize(65507, 0xFF);
    CHECK(h.raw(kClient, huge).empty());
    const auto c = h.server.counters();
    CHECK(c.stun_requests == 1);
    CHECK(c.stun_oversized == 2);
    CHECK(c.stun_malformed == 0);  // not even looked at
    CHECK(to_string(c).find(" stun_oversized=2") != std::string::npos);
    CHECK(std::string(stun::to_string(stun::Result::too_large)) == "too_large");
}

TEST_CASE("a Binding request is answered with XOR-MAPPED-ADDRESS and its transaction id",
          "[unit][stun]") {
    // Port 0x8055 XOR 0x2112 = 0xA147; 192.0.2.1 (C0 00 02 01) XOR 21 12 A4 42 = E1 12 A6 43.
    const std::vector<std::uint8_t> expected = {
        0x01, 0x01, 0x00, 0x0C,                          // Binding success, length 12
        0x21, 0x12, 0xA4, 0x42,                          // magic cookie
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // the request's transaction id
        0x09, 0x0A, 0x0B, 0x0C,                          //
        0x00, 0x20, 0x00, 0x08,                          // XOR-MAPPED-ADDRESS, 8 bytes
        0x00, 0x01, 0xA1, 0x47,                          // IPv4, X-Port
        0xE1, 0x12, 0xA6, 0x43};                         // X-Address
    CHECK(respond(binding_request(), kClient) == expected);
}

TEST_CASE("a request with FINGERPRINT gets a response with a correct FINGERPRINT", "[unit][stun]") {
    auto request = binding_request();
    add_fingerprint(request);
    REQUIRE(request.size() == 28);
    const auto response = respond(request, kClient);
    REQUIRE(response.size() == 40);
    CHECK(response[2] == 0x00);
    CHECK(response[3] == 20);  // XOR-MAPPED-ADDRESS (12) + FINGERPRINT (8)
    CHECK(std::vector<std::uint8_t>(response.begin() + 32, response.begin() + 36) ==
          std::vector<std::uint8_t>{0x80, 0x28, 0x00, 0x04});
    // The CRC covers everything before FINGERPRINT, with the length already counting it.
    const auto crc = codec::crc32(std::span(response.data(), 32)) ^ codec::kFingerprintXor;
    CHECK(response[36] == static_cast<std::uint8_t>(crc >> 24));
    CHECK(response[39] == static_cast<std::uint8_t>(crc));
}

TEST_CASE("an RFC 3489 request without the cookie is answered with MAPPED-ADDRESS",
          "[unit][stun]") {
    auto request = binding_request();
    request[4] = 0xAB;  // no magic cookie: the 128-bit transaction id of RFC 3489
    add_attribute(request, 0x0003, {0, 0, 0, 0});  // CHANGE-REQUEST asking for no change
    const std::vector<std::uint8_t> expected = {
        0x01, 0x01, 0x00, 0x0C,                          // Binding success, length 12
        0xAB, 0x12, 0xA4, 0x42,                          // transaction id, echoed whole
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  //
        0x09, 0x0A, 0x0B, 0x0C,                          //
        0x00, 0x01, 0x00, 0x08,                          // MAPPED-ADDRESS, 8 bytes
        0x00, 0x01, 0x80, 0x55,                          // IPv4, port 32853
        0xC0, 0x00, 0x02, 0x01};                         // 192.0.2.1
    CHECK(respond(request, kClient) == expected);
}

TEST_CASE("unknown attributes, comprehension-required or not, are skipped", "[unit][stun]") {
    auto request = binding_request();
    add_attribute(request, 0x7F01, {1, 2, 3});             // comprehension-required, padded to 4
    add_attribute(request, 0xC001, {});                    // comprehension-optional, empty
    add_attribute(request, 0x8022, {'t', 'e', 's', 't'});  // SOFTWARE
    add_fingerprint(request);
    stun::BindingRequest r;
    REQUIRE(stun::parse(request, r) == stun::Result::binding_request);
    CHECK(r.fingerprint);
    CHECK_FALSE(r.classic);
}

TEST_CASE("malformed STUN is told apart from what is not STUN at all", "[unit][stun]") {
    const auto good = binding_request();
    CHECK(parse(good) == stun::Result::binding_request);

    SECTION("every truncation of the header is not STUN") {
        for (std::size_t n = 0; n < codec::kHeaderSize; ++n)
            CHECK(parse({good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)}) ==
                  stun::Result::not_stun);
    }
    SECTION("a bad cookie on anything but a Binding request is not STUN") {
        auto m = good;
        m[1] = 0x11;  // a Binding indication
        m[7] = 0x43;
        CHECK(parse(m) == stun::Result::not_stun);
    }
    SECTION("the first two bits must be 0, which our NCRV magic never is") {
        auto m = good;
        m[0] = 0x40;
        CHECK(parse(m) == stun::Result::not_stun);
        CHECK_FALSE(stun::looks_like_stun(std::vector<std::uint8_t>{
            'N', 'C', 'R', 'V', 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
    }
    SECTION("a length that disagrees with the size, or is not a multiple of 4") {
        auto m = good;
        m[3] = 4;
        CHECK(parse(m) == stun::Result::bad_length);
        m.insert(m.end(), {0, 0});
        m[3] = 2;
        CHECK(parse(m) == stun::Result::bad_length);
        auto longer = good;
        longer.push_back(0);
        CHECK(parse(longer) == stun::Result::bad_length);
    }
    SECTION("an attribute whose length runs past the end") {
        auto m = good;
        add_attribute(m, 0x8022, {'a', 'b', 'c', 'd'});
        m[codec::kHeaderSize + 3] = 8;  // claims 8 bytes, has 4
        CHECK(parse(m) == stun::Result::bad_attribute);
        // The last attribute's padding missing: 3 bytes of value, the length says 3 + padding.
        auto unpadded = good;
        add_attribute(unpadded, 0x8022, {'a', 'b', 'c'});
        unpadded.pop_back();
        unpadded[3] = static_cast<std::uint8_t>(unpadded.size() - codec::kHeaderSize);
        CHECK(parse(unpadded) == stun::Result::bad_length);
    }
    SECTION("a MESSAGE-INTEGRITY that is not 20 bytes") {
        auto m = good;
        add_attribute(m, 0x0008, {1, 2, 3, 4});
        CHECK(parse(m) == stun::Result::bad_attribute);
    }
    SECTION("a FINGERPRINT that is wrong or not last") {
        auto wrong = good;
        add_fingerprint(wrong);
        wrong.back() ^= 1;
        CHECK(parse(wrong) == stun::Result::bad_fingerprint);
        auto not_last = good;
        add_fingerprint(not_last);
        add_attribute(not_last, 0x8022, {'x', 'y', 'z', 'w'});
        CHECK(parse(not_last) == stun::Result::bad_fingerprint);
    }
    SECTION("valid STUN that is not a Binding request, or asks for another address") {
        auto response = good;
        response[0] = 0x01;
        response[1] = 0x01;
        CHECK(parse(response) == stun::Result::not_binding_request);
        auto change = good;
        add_attribute(change, 0x0003, {0, 0, 0, 4});  // change IP
        CHECK(parse(change) == stun::Result::change_request);
        // After MESSAGE-INTEGRITY it is ignored, like everything there (RFC 8489 §14.5).
        auto after = good;
        add_attribute(after, 0x0008, std::vector<std::uint8_t>(20, 0));
        add_attribute(after, 0x0003, {0, 0, 0, 4});
        CHECK(parse(after) == stun::Result::binding_request);
    }
}

TEST_CASE("the server answers STUN on its port and counts what it drops", "[unit][stun]") {
    Harness h;
    auto sent = h.raw(kClient, binding_request());
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == kClient);
    CHECK(sent[0].bytes.size() == 32);
    CHECK(sent[0].bytes[0] == 0x01);
    CHECK(sent[0].bytes[1] == 0x01);

    auto bad = binding_request();
    bad[3] = 4;
    CHECK(h.raw(kClient, bad).empty());
    auto change = binding_request();
    add_attribute(change, 0x0003, {0, 0, 0, 6});
    CHECK(h.raw(kClient, change).empty());

    const auto c = h.server.counters();
    CHECK(c.stun_requests == 1);
    CHECK(c.stun_malformed == 1);
    CHECK(c.stun_ignored == 1);
    CHECK(c.names == 0);
    CHECK(c.dropped_by(netcore::protocol::DecodeError::not_ours) == 0);
    CHECK(to_string(c).find(" stun_requests=1 stun_malformed=1 stun_ignored=1") !=
          std::string::npos);
}

TEST_CASE("STUN answers to one IP are capped like every answer larger than its request",
          "[unit][stun]") {
    Harness h;  // default limits: answer burst 20, 10 a second
    std::size_t answered = 0;
    for (int i = 0; i < 30; ++i) answered += h.raw(kClient, binding_request()).size();
    CHECK(answered == 20);
    CHECK(h.server.counters().answers_limited == 10);
    CHECK(h.server.counters().stun_requests == 30);
}
