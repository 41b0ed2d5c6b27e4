// The host: the fixed-timestep accumulator and the module lifecycle.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "host/host.hpp"

namespace {

using host::Clock;
using std::chrono::milliseconds;

/// Counts frames instead of drawing them.
class FakePlatform final : public host::Platform {
  public:
    explicit FakePlatform(bool ui) : ui_(ui) {}
    bool pump(host::Input&) override { return true; }
    [[nodiscard]] bool has_ui() const override { return ui_; }
    void begin_frame() override { ++begun; }
    host::Canvas& canvas() override { return canvas_; }
    void end_frame(Clock::time_point) override { ++ended; }
    int begun = 0;
    int ended = 0;

  private:
    class NoCanvas final : public host::Canvas {
      public:
        [[nodiscard]] host::Vec2 size() const override { return {640, 480}; }
        void fill_rect(const host::Rect&, host::Color) override {}
        void outline_rect(const host::Rect&, host::Color, float) override {}
        void text(host::Vec2, host::Color, std::string_view) override {}
    };
    NoCanvas canvas_;
    bool ui_;
};

/// Writes every lifecycle call it gets into a shared journal, as "name:call".
class JournalModule final : public host::Module {
  public:
    JournalModule(std::string name, std::vector<std::string>& journal)
        : name_(std::move(name)), journal_(journal) {}
    [[nodiscard]] std::string_view name() const override { return name_; }
    void start(host::Host&) override { journal_.push_back(name_ + ":start"); }
    void update(const host::FrameTime& f) override {
        journal_.push_back(name_ + ":update" + std::to_string(f.frame));
    }
    void tick(const host::TickTime& t) override {
        journal_.push_back(name_ + ":tick" + std::to_string(t.tick));
    }
    void ui() override { journal_.push_back(name_ + ":ui"); }
    void render(host::Canvas&, float) override { journal_.push_back(name_ + ":render"); }
    void shutdown() override { journal_.push_back(name_ + ":shutdown"); }

  private:
    std::string name_;
    std::vector<std::string>& journal_;
};

}  // namespace

TEST_CASE("Sixty frames of 1/60 s make exactly sixty ticks at 60 Hz", "[sample][loop]") {
    host::FixedTimestep step(60.0);
    int ticks = 0;
    for (int i = 0; i < 60; ++i) ticks += step.advance(1.0 / 60.0).ticks;
    CHECK(ticks == 60);
}

TEST_CASE("A 144 Hz display runs 60 ticks a second and reports the fraction left as alpha",
          "[sample][loop]") {
    host::FixedTimestep step(60.0);
    int ticks = 0;
    for (int i = 0; i < 144; ++i) ticks += step.advance(1.0 / 144.0).ticks;
    CHECK(ticks == 60);

    host::FixedTimestep fresh(60.0);
    const auto first = fresh.advance(1.0 / 144.0);  // 0.4167 of a tick
    CHECK(first.ticks == 0);
    CHECK(first.alpha == Approx(60.0 / 144.0));
    const auto second = fresh.advance(1.0 / 144.0);  // 0.8333
    CHECK(second.ticks == 0);
    CHECK(second.alpha == Approx(120.0 / 144.0));
    const auto third = fresh.advance(1.0 / 144.0);  // 1.25: one tick, 0.25 left
    CHECK(third.ticks == 1);
    CHECK(third.alpha == Approx(0.25));
}

TEST_CASE("A 30 Hz display runs two ticks a frame", "[sample][loop]") {
    host::FixedTimestep step(60.0);
    for (int i = 0; i < 10; ++i) CHECK(step.advance(1.0 / 30.0).ticks == 2);
}

TEST_CASE("A long stall runs at most the cap of ticks and drops the backlog", "[sample][loop]") {
    host::FixedTimestep step(60.0, 8);
    const auto stalled = step.advance(1.0);  // 60 ticks owed
    CHECK(stalled.ticks == 8);
    CHECK(step.accumulator() < step.tick_seconds());
    CHECK(step.advance(1.0 / 60.0).ticks == 1);  // back to normal at once
}

TEST_CASE(
    "Modules start in order, run update, ticks, ui and render each frame, and shut down "
    "in reverse",
    "[sample][lifecycle]") {
    std::vector<std::string> journal;
    host::Host host(60.0);
    host.add(std::make_unique<JournalModule>("a", journal));
    host.add(std::make_unique<JournalModule>("b", journal));
    FakePlatform platform(/*ui=*/true);

    const Clock::time_point t0{};
    host.start(t0);
    host.frame(t0 + milliseconds(10), platform);  // 10 ms: no tick yet
    host.frame(t0 + milliseconds(40), platform);  // 40 ms total: two ticks (33.3 ms)
    host.shutdown();
    host.shutdown();  // idempotent: no second round of shutdown calls

    const std::vector<std::string> expected = {
        "a:start",    "b:start",                                                    //
        "a:update0",  "b:update0", "a:ui",     "b:ui",     "a:render", "b:render",  //
        "a:update1",  "b:update1", "a:tick0",  "b:tick0",  "a:tick1",  "b:tick1",   //
        "a:ui",       "b:ui",      "a:render", "b:render",                          //
        "b:shutdown", "a:shutdown"};
    CHECK(journal == expected);
    CHECK(platform.begun == 2);
    CHECK(platform.ended == 2);
}

TEST_CASE("Without a window the host skips ui() but still renders", "[sample][lifecycle]") {
    std::vector<std::string> journal;
    host::Host host(60.0);
    host.add(std::make_unique<JournalModule>("a", journal));
    FakePlatform platform(/*ui=*/false);
    host.start(Clock::time_point{});
    host.frame(Clock::time_point{} + milliseconds(5), platform);
    host.shutdown();
    CHECK(journal == std::vector<std::string>{"a:start", "a:update0", "a:render", "a:shutdown"});
}

TEST_CASE("One second of 60 Hz frames gives sixty ticks to every module", "[sample][lifecycle]") {
    std::vector<std::string> journal;
    host::Host host(60.0);
    host.add(std::make_unique<JournalModule>("a", journal));
    FakePlatform platform(false);
    const Clock::time_point t0{};
    host.start(t0);
    for (int i = 1; i <= 60; ++i) {
        host.frame(t0 + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(i / 60.0)),
                   platform);
    }
    host.shutdown();
    const auto ticks = std::count_if(journal.begin(), journal.end(), [](const std::string& s) {
        return s.rfind("a:tick", 0) == 0;
    });
    CHECK(ticks == 60);
}

TEST_CASE("Services are found by type and the bus delivers to every subscriber in order",
          "[sample][services]") {
    host::Host host;
    struct Clock2 {
        int value = 7;
    } provided;
    host.services().provide<Clock2>(&provided);
    REQUIRE(host.services().find<Clock2>() == &provided);
    CHECK(host.services().find<std::string>() == nullptr);
    CHECK(host.services().find<host::Input>() == &host.input());  // the host's own

    struct Ping {
        int n;
    };
    std::vector<std::string> got;
    host.bus().subscribe<Ping>(
        [&](const Ping& p) { got.push_back("first" + std::to_string(p.n)); });
    host.bus().subscribe<Ping>(
        [&](const Ping& p) { got.push_back("second" + std::to_string(p.n)); });
    host.bus().publish(Ping{3});
    host.bus().publish(std::string("nobody listens"));
    CHECK(got == std::vector<std::string>{"first3", "second3"});
}

TEST_CASE("The summary line lists fields in order and the reasons a run failed", "[sample]") {
    host::Summary summary;
    summary.set("name", "alice");
    summary.set("connected", "no");
    summary.set("name", "bob");  // keeps its place
    CHECK(summary.ok());
    CHECK(summary.line() == "sample_game: ok name=bob connected=no");
    summary.fail("never connected");
    CHECK_FALSE(summary.ok());
    CHECK(summary.line() == "sample_game: FAILED (never connected) name=bob connected=no");
}
