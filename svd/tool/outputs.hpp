// tapegrad-svd's outputs: the files of --out, --graph, --profile, the JSON and the summary; and the initial
// values of --init-dir.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "out_dir.hpp"
#include "tapegrad/io/files.hpp"
#include "tapegrad/svd/solver.hpp"

namespace tapegrad::svd::tool {

std::string shape_of(const Matrix<double>& m);
std::string shape_of(const io::MatrixShape& m);

/// --init-dir: U0.csv, diag_sqrt0.csv and V0.csv, checked against the matrix's shape (UsageError).
SeedInit read_init(const std::string& dir, const io::MatrixShape& m);

/// The loss graph the recipe minimises, recorded for m's shape (float32 if f32), as Graphviz DOT: as written,
/// or as it runs (after the graph optimizer's rewrites).
std::string loss_graph_dot(const Matrix<double>& m, const SvdOptions& o, const std::string& name, bool as_run,
                           bool f32);

/// The per-op profile of 20 replays of the recipe's loss graph as it runs for m's shape, as a table.
std::string loss_profile_table(const Matrix<double>& m, const SvdOptions& o, const std::string& name,
                               bool f32);

/// --out: U.csv, singular_values.csv, V.csv, loss.csv, convergence.svg, replacing DIR as one unit.
void write_outputs(OutDir& out, const SvdResult& r, const std::string& trace_name);

/// --graph FILE: "-" is stdout; otherwise written atomically, with signals deferred while its temporary
/// exists.
void write_graph(const std::string& file, const std::string& dot);

/// --json's object (the keys the --help text lists; non-finite numbers as null).
nlohmann::ordered_json to_json(const SvdResult& r, const io::MatrixShape& m);

/// The human-readable summary on stdout.
void print_summary(const SvdResult& r, const io::MatrixShape& m, const std::string& name);

/// A duration for the progress line: "42s", "3m05s", "2h10m"; "?" if unknown.
std::string duration(double s);

}  // namespace tapegrad::svd::tool
