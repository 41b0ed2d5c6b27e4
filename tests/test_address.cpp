#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

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
    std::string why = "untouched";
    CHECK(netcore::resolve_address("localhost", 7777, &why) == Address{0x7F000001u, 7777});
    CHECK(why == "untouched");  // only a failure says why
}

TEST_CASE("a literal resolves as it parses, without the resolver", "[address]") {
    std::string why;
    CHECK(netcore::resolve_address("203.0.113.7:9000", 1, &why) == Address{0xCB007107u, 9000});
    CHECK(netcore::resolve_address("203.0.113.7", 9000, &why) == Address{0xCB007107u, 9000});
    CHECK(why.empty());
}

TEST_CASE("a malformed address fails with the reason, before any look-up", "[address]") {
    struct Case {
        const char* text;
        std::uint16_t default_port;
        const char* reason;
    };
    for (const Case& c : {
             Case{"", 7777, "empty address: expected host[:port]"},
             Case{"localhost:", 7777, "bad port '': expected 1..65535"},
             Case{"localhost:0", 7777, "bad port '0': expected 1..65535"},
             Case{"localhost:65536", 7777, "bad port '65536': expected 1..65535"},
             Case{"localhost:80x", 7777, "bad port '80x': expected 1..65535"},
             Case{"1.2.3.4:-1", 7777, "bad port '-1': expected 1..65535"},
             Case{":7777", 7777, "no host before the port"},
             Case{"localhost", 0, "no port: expected host:port"},
             Case{"::1", 7777, "an IPv6 address: netcore speaks IPv4 only"},
             Case{"[::1]:7777", 7777, "an IPv6 address: netcore speaks IPv4 only"},
         }) {
        INFO(c.text);
        std::string why;
        CHECK_FALSE(netcore::resolve_address(c.text, c.default_port, &why));
        CHECK(why == c.reason);
        CHECK_FALSE(netcore::resolve_address(c.text, c.default_port));  // without a reason too
    }
}

TEST_CASE("a name that cannot exist fails with the resolver's reason, quickly", "[address]") {
    // RFC 6761 reserves .invalid: no name under it resolves. With "hosts: files dns" the
    // resolver may still ask the DNS server of /etc/resolv.conf, which answers NXDOMAIN at once
    // when there is one; with a network but no answer, one try of one second bounds the wait
    // (glibc reads RES_OPTIONS when the resolver starts: this process has not resolved
    // through DNS yet, each test case runs in its own process).
    ::setenv("RES_OPTIONS", "timeout:1 attempts:1", 1);
    const auto started = std::chrono::steady_clock::now();
    std::string why;
    CHECK_FALSE(netcore::resolve_address("netcore-test.invalid:7777", 7777, &why));
    const auto took = std::chrono::steady_clock::now() - started;
    INFO(why);
    CHECK(why.starts_with("cannot resolve 'netcore-test.invalid': "));
    CHECK(why.size() > std::string_view("cannot resolve 'netcore-test.invalid': ").size());
    CHECK(took < std::chrono::seconds(5));
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
