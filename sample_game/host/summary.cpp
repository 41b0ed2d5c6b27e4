#include "host/summary.hpp"

namespace host {

void Summary::set(const std::string& key, std::string value) {
    for (auto& [k, v] : fields_) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    fields_.emplace_back(key, std::move(value));
}

void Summary::fail(std::string reason) {
    failures_.push_back(std::move(reason));
}

std::string Summary::line() const {
    std::string out = "sample_game: ";
    if (ok()) {
        out += "ok";
    } else {
        out += "FAILED (";
        for (std::size_t i = 0; i < failures_.size(); ++i) {
            if (i > 0) out += "; ";
            out += failures_[i];
        }
        out += ")";
    }
    for (const auto& [k, v] : fields_) out += " " + k + "=" + v;
    return out;
}

}  // namespace host
