# Reference values for analysis/multiplicity.py: R's p.adjust(method = "holm" / "BH").
#
# Provenance: R's stats package, p.adjust() (R 4.2; source src/library/stats/R/p.adjust.R).
# Holm (1979): pmin(1, cummax((n + 1 - i) * p[o])) over the ascending order o.
# Benjamini & Hochberg (1995): pmin(1, cummin(n / i * p[o])) over the descending order o.
#
# Missing values: p.adjust's default n = length(p) is evaluated lazily, after the NAs
# have been removed from p, so n is the number of non-missing p-values. This script
# checks that (stopifnot below) and also records, for contrast, p.adjust(p, n = length(p))
# with the NAs counted in the family: analysis/multiplicity.py must not equal that.
#
# Inputs: none (every p vector is written below or drawn with a fixed seed).
# Output: tests/reference/r/multiplicity.json; numbers with 17 significant digits (exact
# round trip of doubles), NA -> null.
#
# Run from the repository root:  Rscript tests/reference/r/multiplicity.R
# Deterministic: fixed seeds, no dates of the run in the output.

suppressPackageStartupMessages(library(jsonlite))

stopifnot(dir.exists("tests/reference/r"))  # run from the repository root
output_path <- "tests/reference/r/multiplicity.json"

# A numeric vector as a JSON array, verbatim: %.17g keeps every bit of a double
# (jsonlite's own writer stops at 15 significant digits).
json_numbers <- function(x) {
    stopifnot(all(is.na(x) | is.finite(x)))
    text <- ifelse(is.na(x), "null", sprintf("%.17g", x))
    structure(paste0("[", paste(text, collapse = ","), "]"), class = "json")
}

# --- the p vectors ------------------------------------------------------------------------

# Benjamini & Hochberg (1995), J R Stat Soc B 57:289-300, section 3.2: the 15 p-values
# of the myocardial infarction trial (4 rejected at q = 0.05).
bh_1995 <- c(0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
             0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000)

set.seed(20240601)
rounded <- round(runif(300)^3, 3)                 # many ties and some exact zeros
rounded[sample(300, 30)] <- NA
set.seed(7)
tiny <- 10^-runif(120, 0, 15)                     # spans 1e-15 .. 1
set.seed(11)
large_family <- runif(2000)^2

cases <- list(
    list(name = "bh_1995", p = bh_1995,
         note = "Benjamini & Hochberg (1995), section 3.2"),
    list(name = "ties", p = c(0.01, 0.02, 0.02, 0.02, 0.04, 0.04, 0.3, 0.3, 1),
         note = "tied p-values get one adjusted value"),
    list(name = "ties_unsorted", p = c(0.3, 0.02, 1, 0.04, 0.02, 0.01, 0.3, 0.04, 0.02),
         note = "the ties vector in another order"),
    list(name = "p_equal_one", p = c(1, 1, 0.5, 0.9, 1, 0.04),
         note = "p = 1 entries; the adjusted values cap at 1"),
    list(name = "all_one", p = c(1, 1, 1), note = "every p = 1"),
    list(name = "very_small", p = c(1e-300, 4.9406564584124654e-324, 0, 1e-200, 1e-15,
                                    3e-8, 0.04, 0.5),
         note = "exact zero, the smallest subnormal double, 1e-300"),
    list(name = "holm_step_down", p = c(0.01, 0.011, 0.012, 0.2, 0.03, 0.04),
         note = "Holm's running maximum and BH's running minimum both bind"),
    list(name = "with_na", p = c(0.01, NA, 0.04, 0.03, NA, 0.005, 0.2),
         note = "NA entries: not tested, not in the family"),
    list(name = "single", p = c(0.03), note = "m = 1: unchanged"),
    list(name = "single_with_na", p = c(NA, 0.03, NA), note = "m = 1 among NAs: unchanged"),
    list(name = "all_na", p = c(NA_real_, NA_real_), note = "nothing tested"),
    list(name = "empty", p = numeric(0), note = "no tests"),
    list(name = "rounded_with_na", p = rounded,
         note = "round(runif(300)^3, 3), 30 NA; set.seed(20240601)"),
    list(name = "tiny_spread", p = tiny, note = "10^-runif(120, 0, 15); set.seed(7)"),
    list(name = "large_family", p = large_family, note = "runif(2000)^2; set.seed(11)")
)

# --- the NA convention, checked ---------------------------------------------------------

for (case in cases) {
    p <- case$p
    present <- !is.na(p)
    for (method in c("holm", "BH")) {
        adjusted <- p.adjust(p, method)
        compact <- p.adjust(p[present], method, n = sum(present))
        stopifnot(identical(is.na(adjusted), !present),
                  isTRUE(all.equal(adjusted[present], compact, tolerance = 0)))
    }
}

with_na <- cases[[which(vapply(cases, `[[`, "", "name") == "with_na")]]$p

# --- output -------------------------------------------------------------------------------

reference <- list(
    generated_by = "tests/reference/r/multiplicity.R",
    r_version = R.version.string,
    numbers = "17 significant digits; null = NA",
    na_convention = paste(
        "p.adjust's default n is the number of non-NA p-values (checked for every case",
        "by stopifnot in the script); with_na_n_all is p.adjust(p, n = length(p)), NAs",
        "counted in the family, recorded only to show it differs"
    ),
    cases = lapply(cases, function(case) list(
        name = case$name,
        note = case$note,
        p = json_numbers(case$p),
        holm = json_numbers(p.adjust(case$p, "holm")),
        bh = json_numbers(p.adjust(case$p, "BH"))
    )),
    with_na_n_all = list(
        p = json_numbers(with_na),
        holm = json_numbers(p.adjust(with_na, "holm", n = length(with_na))),
        bh = json_numbers(p.adjust(with_na, "BH", n = length(with_na)))
    )
)

writeLines(toJSON(reference, auto_unbox = TRUE, json_verbatim = TRUE, pretty = TRUE),
           output_path, useBytes = TRUE)
