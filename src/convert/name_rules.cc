// Name-mapping rules of ConvertCheckpoint and `ckpt diff`.
#include <memory>
#include <regex>
#include <vector>

#include "ckpt/convert.h"
#include "ckpt/escape.h"
#include "ckpt/object_graph.h"

namespace ckpt {
namespace {

Status BadRule(std::string_view text, const std::string& why) {
  return InvalidArgumentError("Bad name-map rule '" + EscapeForDisplay(text) + "': " + why +
                              " (expected strip:TEXT, prefix:OLD=NEW or regex:PATTERN=REPLACEMENT)");
}

// std::regex reports a bad pattern only by throwing; the one place ckpt
// catches an exception of the standard library.
bool Compiles(const std::string& pattern) {
  try {
    std::regex re(pattern);
    return true;
  } catch (const std::regex_error&) {
    return false;
  }
}

}  // namespace

Result<NameRule> ParseNameRule(std::string_view text) {
  NameRule rule;
  rule.text = std::string(text);
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return BadRule(text, "no kind");
  const std::string_view kind = text.substr(0, colon);
  const std::string_view arg = text.substr(colon + 1);
  if (kind == "strip") {
    if (arg.empty()) return BadRule(text, "nothing to strip");
    rule.kind = NameRule::Kind::kStrip;
    rule.from = std::string(arg);
    return rule;
  }
  if (kind != "prefix" && kind != "regex") return BadRule(text, "unknown kind");
  const size_t eq = arg.find('=');
  if (eq == std::string_view::npos) return BadRule(text, "no '='");
  rule.from = std::string(arg.substr(0, eq));
  rule.to = std::string(arg.substr(eq + 1));
  if (kind == "prefix") {
    rule.kind = NameRule::Kind::kPrefix;
    return rule;
  }
  rule.kind = NameRule::Kind::kRegex;
  if (rule.from.empty()) return BadRule(text, "empty pattern");
  if (!Compiles(rule.from)) return BadRule(text, "the pattern does not compile");
  return rule;
}

namespace {

// The regexes of `rules`, compiled once (null for the other kinds).
// ParseNameRule checked that each pattern compiles.
std::vector<std::unique_ptr<std::regex>> Compile(const std::vector<NameRule>& rules) {
  std::vector<std::unique_ptr<std::regex>> compiled;
  for (const NameRule& rule : rules) {
    std::unique_ptr<std::regex> re;
    if (rule.kind == NameRule::Kind::kRegex) {
      try {
        re = std::make_unique<std::regex>(rule.from);
      } catch (const std::regex_error&) {
        // A rule not made by ParseNameRule: Apply reports it.
      }
    }
    compiled.push_back(std::move(re));
  }
  return compiled;
}

Result<std::string> Apply(std::string name, const std::vector<NameRule>& rules,
                          const std::vector<std::unique_ptr<std::regex>>& compiled) {
  for (size_t i = 0; i < rules.size(); ++i) {
    const NameRule& rule = rules[i];
    switch (rule.kind) {
      case NameRule::Kind::kStrip:
        for (size_t at; (at = name.find(rule.from)) != std::string::npos;) {
          name.erase(at, rule.from.size());
        }
        break;
      case NameRule::Kind::kPrefix:
        if (name.compare(0, rule.from.size(), rule.from) == 0) {
          name = rule.to + name.substr(rule.from.size());
        }
        break;
      case NameRule::Kind::kRegex:
        if (compiled[i] == nullptr) {
          return InvalidArgumentError("Name-map rule '" + EscapeForDisplay(rule.text) +
                                      "': the pattern does not compile");
        }
        // Matching can still give up (complexity or stack limits), again by
        // throwing.
        try {
          name = std::regex_replace(name, *compiled[i], rule.to);
        } catch (const std::regex_error&) {
          return InvalidArgumentError("Name-map rule '" + EscapeForDisplay(rule.text) +
                                      "' failed on '" + EscapeForDisplay(name) + "'");
        }
        break;
    }
  }
  return name;
}

}  // namespace

Result<std::string> ApplyNameRules(std::string name, const std::vector<NameRule>& rules) {
  return Apply(std::move(name), rules, Compile(rules));
}

Result<std::map<std::string, std::string>> MapNames(const std::vector<VariableInfo>& tensors,
                                                     const std::vector<NameRule>& rules) {
  std::map<std::string, std::string> mapped;
  const std::vector<std::unique_ptr<std::regex>> compiled = Compile(rules);
  for (const VariableInfo& t : tensors) {
    CKPT_ASSIGN_OR_RETURN(std::string name, Apply(t.name, rules, compiled));
    if (name.empty()) {
      return InvalidArgumentError("Name mapping turns tensor '" + EscapeForDisplay(t.name) +
                                  "' into an empty name");
    }
    auto [it, inserted] = mapped.emplace(name, t.name);
    if (!inserted) {
      return InvalidArgumentError("Name mapping maps both '" + EscapeForDisplay(it->second) +
                                  "' and '" + EscapeForDisplay(t.name) + "' to '" +
                                  EscapeForDisplay(name) + "'");
    }
  }
  return mapped;
}

std::vector<NameRule> RulesFor(const TensorSource& source, const std::vector<NameRule>& rules,
                               bool default_rules) {
  std::vector<NameRule> all;
  if (default_rules && source.is_object_checkpoint()) {
    NameRule strip;
    strip.kind = NameRule::Kind::kStrip;
    // "/.ATTRIBUTES/VARIABLE_VALUE": a variable's key minus its object path.
    strip.from = "/" + AttributeCheckpointKey("");
    strip.text = "strip:" + strip.from;
    all.push_back(strip);
  }
  all.insert(all.end(), rules.begin(), rules.end());
  return all;
}

}  // namespace ckpt
