// punch's testable parts: line framing and the command line (the event loop is proven end to
// end by tests/e2e/punch_e2e.sh).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "line_io.hpp"
#include "options.hpp"
#include "ticket_file.hpp"

namespace {

std::vector<std::string> drain(punch::LineSplitter& s) {
    std::vector<std::string> out;
    std::string line;
    while (s.next(line)) out.push_back(line);
    return out;
}

void feed(punch::LineSplitter& s, const std::string& text) {
    s.feed({text.data(), text.size()});
}

std::vector<std::uint8_t> bytes(const std::string& s) {
    return {s.begin(), s.end()};
}

punch::ParseResult parse(std::vector<const char*> args) {
    args.insert(args.begin(), "punch");
    return punch::parse_options(static_cast<int>(args.size()), args.data());
}

}  // namespace

TEST_CASE("lines keep their newline and come out whole however the bytes arrive", "[punch]") {
    punch::LineSplitter s;
    feed(s, "hel");
    CHECK(drain(s).empty());
    feed(s, "lo\n\nwor");
    CHECK(drain(s) == std::vector<std::string>{"hello\n", "\n"});
    feed(s, "ld\r\n");
    CHECK(drain(s) == std::vector<std::string>{"world\r\n"});
}

TEST_CASE("a last line without a newline gets one at the end of input", "[punch]") {
    punch::LineSplitter s;
    feed(s, "a\nno newline");
    s.finish();
    CHECK(drain(s) == std::vector<std::string>{"a\n", "no newline\n"});
}

TEST_CASE("empty input gives no line at all", "[punch]") {
    punch::LineSplitter s;
    s.finish();
    CHECK(drain(s).empty());
}

TEST_CASE("a line at the limit passes and one byte more overflows", "[punch]") {
    punch::LineSplitter ok(8);
    feed(ok, "12345678\n");
    CHECK(drain(ok) == std::vector<std::string>{"12345678\n"});
    CHECK_FALSE(ok.overflowed());

    punch::LineSplitter over(8);
    feed(over, "x\n123456789");
    CHECK(drain(over) == std::vector<std::string>{"x\n"});
    CHECK(over.overflowed());
    CHECK(over.line_number() == 2);

    punch::LineSplitter whole(8);  // the newline arrives with it: still too long
    feed(whole, "123456789\nshort\n");
    CHECK(drain(whole).empty());
    CHECK(whole.overflowed());
}

TEST_CASE("the end-of-input message cannot be mistaken for a line", "[punch]") {
    CHECK(punch::classify(bytes("\x04")) == punch::Incoming::end_of_input);
    CHECK(punch::classify(bytes("\x04\n")) == punch::Incoming::line);
    CHECK(punch::classify(bytes("")) == punch::Incoming::line);
    CHECK(punch::printable(bytes("hi\n")) == "hi\n");
    CHECK(punch::printable(bytes("from a game")) == "from a game\n");
    CHECK(punch::printable(bytes("")) == "\n");
}

TEST_CASE("a line is pending only once it is whole, or once the input ended", "[punch]") {
    punch::LineSplitter s;
    CHECK_FALSE(s.pending());
    feed(s, "part");
    CHECK_FALSE(s.pending());
    feed(s, "ial\nnext");
    CHECK(s.pending());
    CHECK(drain(s) == std::vector<std::string>{"partial\n"});
    CHECK_FALSE(s.pending());
    s.finish();
    CHECK(s.pending());
    CHECK(drain(s) == std::vector<std::string>{"next\n"});
    CHECK_FALSE(s.pending());
}

TEST_CASE("a party member's message is printed after its sender's name", "[punch]") {
    CHECK(punch::printable_from("bob", bytes("hello\n")) == "bob: hello\n");
    CHECK(punch::printable_from("carol", bytes("no newline")) == "carol: no newline\n");
    CHECK(punch::printable_from("dave", bytes("")) == "dave: \n");
}

TEST_CASE("the command line gives defaults and reads every option", "[punch]") {
    auto r = parse({"127.0.0.1", "alice"});
    REQUIRE(std::holds_alternative<punch::Options>(r));
    const auto& o = std::get<punch::Options>(r);
    CHECK(o.server == netcore::Address{0x7F000001, 7777});
    CHECK(o.name == "alice");
    CHECK_FALSE(o.peer.has_value());
    CHECK(o.timeout == std::chrono::seconds(30));
    CHECK_FALSE(o.punch_timeout.has_value());
    CHECK(o.local_port == 0);
    CHECK_FALSE(o.stats_interval.has_value());
    CHECK_FALSE(o.hide_address);

    auto r2 = parse({"--timeout", "2.5", "--punch-timeout", "4", "--port", "5000", "--quiet",
                     "10.0.0.1:9000", "alice", "bob"});
    REQUIRE(std::holds_alternative<punch::Options>(r2));
    const auto& o2 = std::get<punch::Options>(r2);
    CHECK(o2.server == netcore::Address{0x0A000001, 9000});
    CHECK(o2.peer == std::optional<std::string>("bob"));
    CHECK(o2.timeout == std::chrono::milliseconds(2500));
    CHECK(o2.punch_timeout == std::optional<std::chrono::milliseconds>(4000));
    CHECK(o2.local_port == 5000);
    CHECK(o2.quiet);

    auto hidden = parse({"--hide-address", "127.0.0.1", "alice", "bob"});
    REQUIRE(std::holds_alternative<punch::Options>(hidden));
    CHECK(std::get<punch::Options>(hidden).hide_address);

    auto r3 = parse({"--stats", "0.5", "127.0.0.1", "alice"});
    REQUIRE(std::holds_alternative<punch::Options>(r3));
    CHECK(std::get<punch::Options>(r3).stats_interval ==
          std::optional<std::chrono::milliseconds>(500));
}

TEST_CASE("punch --ticket reads a ticket back, and ignores a file that holds none", "[punch]") {
    const auto dir =
        std::filesystem::temp_directory_path() / ("punch_ticket_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "ticket").string();
    netcore::ResumeTicket t;
    t.server = netcore::Address{0x7F000001, 7777};
    t.server_key.fill(0x11);
    t.salt.fill(0x22);
    t.cookie.fill(0x33);
    t.observed = netcore::Address{0x7F000001, 5000};

    // No file yet: no ticket, no warning (the first run).
    auto none = parse({"--ticket", path.c_str(), "127.0.0.1", "alice"});
    REQUIRE(std::holds_alternative<punch::Options>(none));
    CHECK(std::get<punch::Options>(none).ticket_file == path);
    CHECK_FALSE(std::get<punch::Options>(none).ticket);

    std::string error;
    REQUIRE(punch::save_ticket(path, t, error));
    CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::group_read) ==
          std::filesystem::perms::none);
    auto read = parse({"--ticket", path.c_str(), "127.0.0.1", "alice"});
    REQUIRE(std::holds_alternative<punch::Options>(read));
    CHECK(std::get<punch::Options>(read).ticket == std::optional<netcore::ResumeTicket>(t));

    // A damaged file is a warning, not an error: the run goes on without a ticket.
    std::ofstream(path) << "not a ticket\n";
    std::string warning;
    CHECK_FALSE(punch::load_ticket(path, warning));
    CHECK(warning == "the ticket file " + path + " holds no ticket: ignored");
    auto damaged = parse({"--ticket", path.c_str(), "127.0.0.1", "alice"});
    REQUIRE(std::holds_alternative<punch::Options>(damaged));
    CHECK_FALSE(std::get<punch::Options>(damaged).ticket);
    std::filesystem::remove_all(dir);
}

TEST_CASE("punch --accept names the players who may reach us, one per use", "[punch]") {
    CHECK(std::get<punch::Options>(parse({"127.0.0.1", "alice"})).accept.empty());
    auto r = parse({"--accept", "carol", "--accept", "dave", "127.0.0.1", "alice"});
    REQUIRE(std::holds_alternative<punch::Options>(r));
    const auto& o = std::get<punch::Options>(r);
    CHECK(o.accept == std::vector<std::string>{"carol", "dave"});
    CHECK_FALSE(o.peer.has_value());
    for (const auto& args :
         std::vector<std::vector<const char*>>{{"--accept", "bad name", "127.0.0.1", "alice"},
                                               {"--accept", "alice", "127.0.0.1", "alice"}}) {
        auto bad = parse(args);
        REQUIRE(std::holds_alternative<int>(bad));
        CHECK(std::get<int>(bad) == punch::kExitUsage);
    }
}

TEST_CASE("punch --party joins a party instead of asking for a peer", "[punch]") {
    const auto plain = std::get<punch::Options>(parse({"127.0.0.1", "alice"}));
    CHECK_FALSE(plain.party.has_value());
    CHECK_FALSE(plain.admit);

    auto r = parse({"--party", "friday-night", "127.0.0.1", "alice"});
    REQUIRE(std::holds_alternative<punch::Options>(r));
    const auto& o = std::get<punch::Options>(r);
    CHECK(o.party == std::optional<std::string>("friday-night"));
    CHECK_FALSE(o.admit);
    CHECK_FALSE(o.peer.has_value());
    CHECK(o.accept.empty());

    // The host of an admit-party lets in the players named with --accept.
    auto hosted = parse({"--party", "club", "--admit", "--accept", "bob", "--accept", "carol",
                         "127.0.0.1", "alice"});
    REQUIRE(std::holds_alternative<punch::Options>(hosted));
    const auto& h = std::get<punch::Options>(hosted);
    CHECK(h.party == std::optional<std::string>("club"));
    CHECK(h.admit);
    CHECK(h.accept == std::vector<std::string>{"bob", "carol"});

    auto admit_alone = parse({"--party", "club", "--admit", "127.0.0.1", "alice"});
    REQUIRE(std::holds_alternative<punch::Options>(admit_alone));
    CHECK(std::get<punch::Options>(admit_alone).admit);
}

TEST_CASE("punch --party refuses a peer, a bad party name and --admit or --accept misused",
          "[punch]") {
    const std::vector<std::vector<const char*>> bad = {
        {"--party", "club", "127.0.0.1", "alice", "bob"},  // a party and a peer
        {"--party", "bad party", "127.0.0.1", "alice"},    // not a name
        {"--party", "", "127.0.0.1", "alice"},             // empty
        {"--party", "a-party-name-longer-than-32-bytes", "127.0.0.1", "alice"},
        {"--admit", "127.0.0.1", "alice"},                             // --admit needs --party
        {"--admit", "127.0.0.1", "alice", "bob"},                      // even with a peer
        {"--party", "club", "--accept", "bob", "127.0.0.1", "alice"},  // --accept needs --admit
        {"--party", "club", "--admit", "--accept", "alice", "127.0.0.1", "alice"},  // ourselves
        {"127.0.0.1", "alice", "--party"},                                          // no party name
    };
    for (const auto& args : bad) {
        auto r = parse(args);
        REQUIRE(std::holds_alternative<int>(r));
        CHECK(std::get<int>(r) == punch::kExitUsage);
    }
}

TEST_CASE("bad command lines exit 1", "[punch]") {
    // Each prints one line on stderr (checked by the e2e cli test); here only the code.
    const std::vector<std::vector<const char*>> bad = {
        {},
        {"127.0.0.1"},
        {"127.0.0.1", "bad name"},
        {"127.0.0.1", "alice", "alice"},
        {"127.0.0.1", "alice", "bob", "extra"},
        {"127.0.0.1:0", "alice"},
        {"127.0.0.1:70000", "alice"},
        {"--timeout", "soon", "127.0.0.1", "alice"},
        {"--timeout", "-1", "127.0.0.1", "alice"},
        {"--punch-timeout", "0", "127.0.0.1", "alice"},
        {"--stats", "0", "127.0.0.1", "alice"},
        {"--port", "65536", "127.0.0.1", "alice"},
        {"--no-such-option", "127.0.0.1", "alice"},
        {"127.0.0.1", "a-name-that-is-longer-than-32-bytes"},
    };
    for (const auto& args : bad) {
        auto r = parse(args);
        REQUIRE(std::holds_alternative<int>(r));
        CHECK(std::get<int>(r) == punch::kExitUsage);
    }
}
