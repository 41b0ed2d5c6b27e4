#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "netcore/address.hpp"

using netcore::Address;
using netcore::parse_address;

TEST_CASE("a dotted address with a port parses to host byte order", "[address]") {
    const auto a = parse_address("203.0.113.7:9000", 1);
    REQUIRE(a);
    CHECK(a->ip == 0xCB007107u);
    CHECK(a->port == 9000);
    CHECK(a->to_string() == "203.0.113.7:9000");
}

TEST_CASE("an address without a port takes the default port", "[address]") {
    const auto a = parse_address("127.0.0.1", 7777);
    REQUIRE(a);
    CHECK(*a == Address{0x7F000001u, 7777});
}

TEST_CASE("malformed addresses are refused", "[address]") {
    for (const char* bad : {"", ":80", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4:", "1.2.3.4:0",
                            "1.2.3.4:65536", "1.2.3.4:80x", "a.b.c.d", "1..2.3", "01234.1.1.1"}) {
        INFO(bad);
        CHECK_FALSE(parse_address(bad, 7777));
    }
}

TEST_CASE("localhost resolves without the network", "[address]") {
    const auto a = netcore::resolve_address("localhost:1234", 7777);
    REQUIRE(a);
    CHECK(a->ip == 0x7F000001u);
    CHECK(a->port == 1234);
}

TEST_CASE("only private, shared, link-local and loopback addresses are LAN candidates",
          "[address]") {
    // Each range's first and last address, and the addresses just outside it.
    for (const char* lan : {"10.0.0.0", "10.255.255.255", "172.16.0.0", "172.31.255.255",
                            "192.168.0.0", "192.168.255.255", "100.64.0.0", "100.127.255.255",
                            "169.254.0.0", "169.254.255.255", "127.0.0.1", "127.255.255.255"}) {
        INFO(lan);
        CHECK(netcore::lan_candidate(*parse_address(lan, 9000)));
    }
    for (const char* wan : {"9.255.255.255", "11.0.0.0", "172.15.255.255", "172.32.0.0",
                            "192.167.255.255", "192.169.0.0", "100.63.255.255", "100.128.0.0",
                            "169.253.255.255", "169.255.0.0", "126.255.255.255", "128.0.0.0",
                            "203.0.113.7", "8.8.8.8", "0.0.0.0", "255.255.255.255", "224.0.0.1"}) {
        INFO(wan);
        CHECK_FALSE(netcore::lan_candidate(*parse_address(wan, 9000)));
    }
}
