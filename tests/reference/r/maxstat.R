# Reference values for analysis/cutpoint.py: R maxstat's maximally selected log-rank test.
#
# Provenance: R package maxstat (Hothorn & Lausen 2003), maxstat.test(Surv(time, event) ~ x,
# smethod = "LogRank"), whose log-rank scores are exactRankTests::cscores.Surv (Hothorn),
# i.e. score_i = event_i - sum over sorted positions up to the last patient tied with
# time_i of event / (N - rank + 1), rank = number of patients with time <= t (ties get
# the largest rank). The statistic at the cut with m patients at or below it is
# |S_m - m/N sum(y)| / sqrt(m (N - m) / (N^2 (N - 1)) (N sum(y^2) - sum(y)^2)); the cuts
# are the distinct x values with floor(N minprop) <= m <= floor(N maxprop), m >= 1.
# p-values: pmethod = "Lau92" (Lausen & Schumacher 1992), "Lau94" (Lausen, Sauerbrei &
# Schumacher 1994, the improved Bonferroni bound over the actual cuts) and "condMC"
# (conditional Monte-Carlo: the share of B random permutations of the scores whose
# largest standardised statistic is *strictly greater* than the observed one).
# Source: maxstat R/maxstat.R, src/maxstatpermdist.c; exactRankTests R/cscores.R,
# src/irank.c.
#
# Inputs (all in this repository, nothing downloaded):
#   examples/uams_gse24080_mm/{patients,expression}.csv   GEO GSE24080 myeloma (raw contract)
#   tests/data/mgus2/{patients,expression}.csv             R survival's mgus2 (raw contract)
#   tests/data/textbook/{ovarian,lung}.csv                 R survival's data sets
#   and three hand-built vectors (few cut points; constant x; no events).
# Output: tests/reference/r/maxstat.json. Each case holds the exact time, event and x
# vectors R used (after na.omit), so the Python test rebuilds nothing.
# Numbers: 17 significant digits (exact round trip of doubles); NA/NaN -> null.
#
# Run from the repository root:  Rscript tests/reference/r/maxstat.R
# Deterministic: condMC runs after set.seed(case seed) with R's default RNG kinds, which
# are recorded; no dates of the run in the output. The Python test compares its own
# seeded Monte-Carlo p (numpy's generator, not R's) within Monte-Carlo error only.

suppressPackageStartupMessages({
    library(survival)
    library(maxstat)
    library(jsonlite)
})

stopifnot(file.exists("tests/data/textbook/lung.csv"))  # run from the repository root
output_path <- "tests/reference/r/maxstat.json"
condmc_permutations <- 10000L
first_seed <- 20170101L

# A numeric vector as a JSON array, verbatim: %.17g keeps every bit of a double.
json_numbers <- function(x) {
    text <- ifelse(is.finite(x), sprintf("%.17g", x), "null")
    structure(paste0("[", paste(text, collapse = ","), "]"), class = "json")
}
json_number <- function(x) {
    if (length(x) != 1L || !is.finite(x)) return(structure("null", class = "json"))
    structure(sprintf("%.17g", x), class = "json")
}

# --- data -------------------------------------------------------------------------------

textbook <- function(name) read.csv(file.path("tests/data/textbook", paste0(name, ".csv")))

# A raw-contract cohort: OS as in dbt's int_patient_endpoints_derived (diagnosis -> death,
# otherwise censored at the last follow-up; no data cut-off) and one marker's value from
# the long expression file (patient_id, gene, value).
raw_cohort <- function(folder, marker) {
    patients <- read.csv(file.path(folder, "patients.csv"), na.strings = "")
    expression <- read.csv(file.path(folder, "expression.csv"), na.strings = "")
    end_date <- ifelse(is.na(patients$death_date), patients$last_followup_date,
                       patients$death_date)
    values <- expression[expression$gene == marker, c("patient_id", "value")]
    stopifnot(!anyDuplicated(values$patient_id))
    data.frame(
        time = as.numeric(as.Date(end_date) - as.Date(patients$diagnosis_date)),
        event = as.numeric(!is.na(patients$death_date)),
        x = values$value[match(patients$patient_id, values$patient_id)]
    )
}
raw_note <- function(folder, marker) paste(
    sprintf("%s: time = death_date (else last_followup_date) minus diagnosis_date in", folder),
    sprintf("days, event = 1 if death_date is present; x = the '%s' value of", marker),
    "expression.csv (long: patient_id, gene, value); rows with x missing dropped (na.omit)"
)

lung <- textbook("lung")
lung$event <- as.numeric(lung$status == 2)  # Surv's 1/2 coding: 2 = death
lung_note <- function(column) paste(
    "tests/data/textbook/lung.csv; time, event = (status == 2), x =", column,
    "; rows with x missing dropped (na.omit)"
)
ovarian <- textbook("ovarian")

hand_few_cuts <- data.frame(
    time = c(5, 8, 8, 12, 15, 20, 22, 30, 31, 40, 41, 45, 50, 60, 61, 70, 80, 90, 95, 99),
    event = c(1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0),
    x = c(1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3)
)
hand_constant <- data.frame(time = c(3, 5, 7, 9, 11, 13), event = c(1, 0, 1, 1, 0, 1),
                            x = rep(2.5, 6))
hand_no_events <- data.frame(time = c(3, 5, 7, 9, 11, 13), event = rep(0, 6),
                             x = c(0.3, -1.2, 0, 2.2, 1.1, 0.7))

specs <- list(
    list(name = "uams_b2m_os", data = raw_cohort("examples/uams_gse24080_mm", "B2M"),
         note = raw_note("examples/uams_gse24080_mm", "B2M")),
    list(name = "uams_ldh_os", data = raw_cohort("examples/uams_gse24080_mm", "LDH"),
         note = raw_note("examples/uams_gse24080_mm", "LDH")),
    list(name = "uams_alb_os", data = raw_cohort("examples/uams_gse24080_mm", "ALB"),
         note = raw_note("examples/uams_gse24080_mm", "ALB")),
    list(name = "uams_crp_os", data = raw_cohort("examples/uams_gse24080_mm", "CRP"),
         note = raw_note("examples/uams_gse24080_mm", "CRP")),
    list(name = "mgus2_hgb_os", data = raw_cohort("tests/data/mgus2", "hgb"),
         note = raw_note("tests/data/mgus2", "hgb")),
    list(name = "mgus2_creat_os", data = raw_cohort("tests/data/mgus2", "creat"),
         note = raw_note("tests/data/mgus2", "creat")),
    list(name = "ovarian_age",
         data = data.frame(time = ovarian$futime, event = ovarian$fustat, x = ovarian$age),
         note = "tests/data/textbook/ovarian.csv; time = futime, event = fustat, x = age"),
    list(name = "lung_age", data = data.frame(time = lung$time, event = lung$event, x = lung$age),
         note = lung_note("age (ties in x and in time)")),
    list(name = "lung_ph_karno",
         data = data.frame(time = lung$time, event = lung$event, x = lung$ph.karno),
         note = lung_note("ph.karno (6 distinct values: heavy ties in x)")),
    list(name = "lung_wt_loss",
         data = data.frame(time = lung$time, event = lung$event, x = lung$wt.loss),
         note = lung_note("wt.loss (negative and zero values)")),
    list(name = "lung_meal_cal_25_75",
         data = data.frame(time = lung$time, event = lung$event, x = lung$meal.cal),
         note = lung_note("meal.cal, with minprop = 0.25, maxprop = 0.75"),
         minprop = 0.25, maxprop = 0.75),
    list(name = "hand_few_cuts", data = hand_few_cuts,
         note = "hand-built: 20 patients, x in {1, 2, 3}, so two admissible cuts (1 and 2)"),
    list(name = "hand_constant", data = hand_constant,
         note = "hand-built: every x equal; maxstat.test stops (no admissible cut)"),
    list(name = "hand_no_events", data = hand_no_events,
         note = "hand-built: no events; every score is 0 and the statistic is 0/0")
)

# --- cases ------------------------------------------------------------------------------

run_case <- function(spec, seed) {
    minprop <- if (is.null(spec$minprop)) 0.1 else spec$minprop
    maxprop <- if (is.null(spec$maxprop)) 0.9 else spec$maxprop
    data <- na.omit(spec$data)
    test <- function(pmethod, ...) maxstat.test(
        Surv(time, event) ~ x, data = data, smethod = "LogRank", pmethod = pmethod,
        minprop = minprop, maxprop = maxprop, ...
    )
    scores <- exactRankTests::cscores(Surv(data$time, data$event), type = "LogRank")
    base <- list(
        name = spec$name,
        data = spec$note,
        minprop = minprop,
        maxprop = maxprop,
        n = nrow(data),
        events = sum(data$event),
        time = json_numbers(data$time),
        event = json_numbers(data$event),
        x = json_numbers(data$x),
        scores = json_numbers(as.numeric(scores))
    )
    lau92 <- tryCatch(test("Lau92"), error = function(e) e)
    if (inherits(lau92, "error")) {
        return(c(base, list(r_error = conditionMessage(lau92))))
    }
    lau94 <- test("Lau94")
    set.seed(seed)
    condmc <- test("condMC", B = condmc_permutations)
    stopifnot(identical(lau92$statistic, lau94$statistic),
              identical(lau92$statistic, condmc$statistic))
    c(base, list(
        cuts = json_numbers(lau92$cuts),
        stats = json_numbers(lau92$stats),
        statistic = json_number(unname(lau92$statistic)),
        estimate = json_number(unname(lau92$estimate)),
        n_low = sum(data$x <= lau92$estimate),
        p_lau92 = json_number(lau92$p.value),
        p_lau94 = json_number(lau94$p.value),
        p_condmc = json_number(condmc$p.value),
        condmc_permutations = condmc_permutations,
        condmc_seed = seed
    ))
}

cases <- Map(run_case, specs, first_seed + seq_along(specs) - 1L)

reference <- list(
    generated_by = "tests/reference/r/maxstat.R",
    command = "Rscript tests/reference/r/maxstat.R",
    r_version = R.version.string,
    maxstat_version = as.character(packageVersion("maxstat")),
    exact_rank_tests_version = as.character(packageVersion("exactRankTests")),
    survival_version = as.character(packageVersion("survival")),
    rng_kind = RNGkind(),
    numbers = "17 significant digits; null = NA, NaN or not computed",
    conventions = list(
        call = paste("maxstat.test(Surv(time, event) ~ x, data, smethod = 'LogRank',",
                     "pmethod = P, minprop, maxprop), P in Lau92, Lau94, condMC (B, after",
                     "set.seed(condmc_seed))"),
        scores = "exactRankTests::cscores(Surv(time, event), type = 'LogRank')",
        cuts = "maxstat's $cuts: x[m], the admissible cut points, increasing",
        stats = "maxstat's $stats: the standardised statistic at each cut",
        n_low = "patients with x <= estimate (the low group)",
        r_error = "present when maxstat.test stops; the message R gives"
    ),
    cases = cases
)

writeLines(toJSON(reference, auto_unbox = TRUE, json_verbatim = TRUE, pretty = TRUE,
                  null = "null", na = "null"),
           output_path, useBytes = TRUE)
