# Reference values for analysis/power.py: Schoenfeld's (1983) events-based formulas.
#
# Two parts, of different strength:
#
# 1. "power", "minimum_detectable_hazard_ratio", "required_events": the same three
#    formulas as analysis/power.py, written out with R's qnorm/pnorm over a grid. This
#    checks the arithmetic and the normal quantiles/tails, nothing more: it is the same
#    formula in another language.
#      power  = pnorm(sqrt(D p (1 - p)) |log HR| - qnorm(1 - alpha/2))   (no other tail)
#      MDHR   = exp((qnorm(1 - alpha/2) + qnorm(power)) / sqrt(D p (1 - p)))
#      events = (qnorm(1 - alpha/2) + qnorm(power))^2 / (p (1 - p) log(HR)^2)
#
# 2. "hmisc_cpower": an independent implementation that is installed here, Hmisc's
#    cpower() (Harrell). It writes the variance of log HR as 1/m_c + 1/m_i (events per
#    group; George & Desu 1974, Peto) and reports the two-sided power with both tails.
#    With equal events per group, m_c = m_i = D/2, that variance is 4/D, Schoenfeld's
#    1/(D p (1 - p)) at p = 1/2; so cpower's power is our power at p = 1/2 plus the
#    opposite tail pnorm(-sqrt(D)/2 |log HR| - qnorm(1 - alpha/2)). The design below
#    makes the events equal: control mortality mc at tref = tmin = 1 with no accrual
#    (so P(event) = mc exactly), intervention mortality mi = 1 - (1 - mc)^HR (hazard
#    ratio HR under exponential survival, passed to cpower as the reduction
#    r = 100 (1 - mi/mc)), and group sizes nc = (D/2)/mc, ni = (D/2)/mi. The hazard
#    ratio cpower actually used, log(1 - mi)/log(1 - mc) recomputed from r as cpower
#    does, is recorded (it differs from HR only by rounding).
#    (Not installed here, so not used: powerSurvEpi, gsDesign, rpact.)
#
# Inputs: none. Output: tests/reference/r/power.json; numbers with 17 significant
# digits (exact round trip of doubles).
#
# Run from the repository root:  Rscript tests/reference/r/power.R
# Deterministic: no random numbers, no dates of the run in the output.

suppressPackageStartupMessages({
    library(jsonlite)
    library(Hmisc)
})

stopifnot(dir.exists("tests/reference/r"))  # run from the repository root
output_path <- "tests/reference/r/power.json"

# A numeric vector as a JSON array, verbatim: %.17g keeps every bit of a double
# (jsonlite's own writer stops at 15 significant digits).
json_numbers <- function(x) {
    stopifnot(all(is.finite(x)))
    structure(paste0("[", paste(sprintf("%.17g", x), collapse = ","), "]"), class = "json")
}
json_columns <- function(frame) lapply(as.list(frame), json_numbers)

# --- 1. the formulas over a grid ------------------------------------------------------------

events <- c(1, 10, 30, 65, 100, 191, 500, 2000)
allocations <- c(0.5, 0.25, 0.1, 1 / 3)
hazard_ratios <- c(0.5, 0.7, 0.9, 1.2, 1.5, 2, 3)
alphas <- c(0.05, 0.01, 0.1)
powers <- c(0.8, 0.9)

power_grid <- expand.grid(events = events, allocation = allocations,
                          hazard_ratio = hazard_ratios, alpha = alphas)
power_grid$power <- with(power_grid, pnorm(
    sqrt(events * allocation * (1 - allocation)) * abs(log(hazard_ratio)) -
        qnorm(1 - alpha / 2)
))

detectable_grid <- expand.grid(events = events, allocation = allocations,
                               alpha = alphas, power = powers)
detectable_grid$hazard_ratio <- with(detectable_grid, exp(
    (qnorm(1 - alpha / 2) + qnorm(power)) / sqrt(events * allocation * (1 - allocation))
))

events_grid <- expand.grid(hazard_ratio = hazard_ratios, allocation = allocations,
                           alpha = alphas, power = powers)
events_grid$events <- with(events_grid,
    (qnorm(1 - alpha / 2) + qnorm(power))^2 / (allocation * (1 - allocation) * log(hazard_ratio)^2)
)

# --- 2. Hmisc::cpower with equal events per group --------------------------------------------

control_mortality <- 0.4
cpower_grid <- expand.grid(events = c(30, 66, 191, 500), target_hazard_ratio = c(0.5, 0.7, 1.5, 2),
                           alpha = c(0.05, 0.01))
cpower_case <- function(events, target_hazard_ratio, alpha) {
    mc <- control_mortality
    mi <- 1 - (1 - mc)^target_hazard_ratio
    reduction <- 100 * (1 - mi / mc)
    power <- cpower(tref = 1, mc = mc, r = reduction, accrual = 0, tmin = 1, alpha = alpha,
                    nc = (events / 2) / mc, ni = (events / 2) / mi, pr = FALSE)
    used_mi <- (1 - reduction / 100) * mc                   # as cpower computes it
    c(hazard_ratio = log(1 - used_mi) / log(1 - mc), power_both_tails = unname(power))
}
cpower_values <- t(mapply(cpower_case, cpower_grid$events, cpower_grid$target_hazard_ratio,
                          cpower_grid$alpha))
cpower_frame <- data.frame(events = cpower_grid$events, cpower_values, alpha = cpower_grid$alpha)

# --- output -------------------------------------------------------------------------------

reference <- list(
    generated_by = "tests/reference/r/power.R",
    r_version = R.version.string,
    hmisc_version = as.character(packageVersion("Hmisc")),
    numbers = "17 significant digits",
    power = json_columns(power_grid),
    minimum_detectable_hazard_ratio = json_columns(detectable_grid),
    required_events = json_columns(events_grid),
    hmisc_cpower = c(
        list(note = sprintf(paste(
            "Hmisc::cpower, equal events per group (D/2 each), control mortality %g;",
            "power_both_tails includes the opposite tail"
        ), control_mortality)),
        json_columns(cpower_frame)
    )
)

writeLines(toJSON(reference, auto_unbox = TRUE, json_verbatim = TRUE, pretty = TRUE),
           output_path, useBytes = TRUE)
