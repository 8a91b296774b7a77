# Reference values for analysis/rmst.py: restricted mean survival time (RMST) per group
# and between groups.
#
# Provenance:
#   - Per group: R survival's own restricted mean, summary(survfit(Surv(time, event) ~
#     group), rmean = tau)$table columns "rmean" and "se(rmean)" (the numbers
#     print(fit, rmean = tau) shows; computed by survival:::survmean: area under the
#     Kaplan-Meier step function from 0 to tau, variance
#     sum_{t_j <= tau} d_j / (n_j (n_j - d_j)) * (area from t_j to tau)^2, 0 where
#     n_j = d_j).
#   - Contrasts: survRM2 (Uno et al., CRAN 1.0-4) is not a Debian package, so its
#     unadjusted two-arm formulas are written out below from its source (R/rmst2.R,
#     "contrast (RMST difference)" and "contrast (RMST ratio)"), applied to survfit's
#     rmean and se(rmean)^2 (R/rmst1.R computes the same rmst and rmst.var as survmean):
#       difference  r1 - r0,        se = sqrt(v1 + v0)
#       log ratio   log r1 - log r0, se = sqrt(v1 / r1^2 + v0 / r0^2)
#       interval    estimate -/+ qnorm(0.975) se (the ratio's exponentiated)
#       p           2 pnorm(-|estimate| / se) (for the ratio, of the log ratio)
#     and its rule for the largest allowed tau ("initial check" in rmst2, transcribed in
#     rmst2_default_tau below; its default tau equals that bound in every case). When
#     survRM2 happens to be installed, the script also runs survRM2::rmst2 on every
#     allowed two-group contrast and stops unless it agrees (nothing of it is written to
#     the JSON, which stays the same with or without it).
#   - Default horizon (the product's rule, docs/study-spec.md rmst_horizon_years): the
#     largest landmark at which every group has n.risk >= 1 in
#     summary(fit, times = landmark, extend = TRUE).
#
# Inputs (all in this repository, nothing downloaded):
#   tests/data/textbook/{aml,ovarian,lung}.csv   R survival's data sets, as in R
#   examples/uams_gse24080_mm/*.csv              GEO GSE24080 myeloma cohort (raw contract)
#   tests/data/mgus2/*.csv                        R survival's mgus2 (raw contract)
# Output: tests/reference/r/rmst.json: per case the exact time, event, group vectors R
# used, and per tau (chosen by the rules in `horizons`) every group's rmean and se and
# every allowed contrast. Numbers are written with %.17g (exact doubles).
#
# Run from the repository root:  Rscript tests/reference/r/rmst.R
# Deterministic: no random numbers, no dates of the run in the output.

suppressPackageStartupMessages({
    library(survival)
    library(jsonlite)
})

stopifnot(file.exists("tests/data/textbook/aml.csv"))  # run from the repository root
output_path <- "tests/reference/r/rmst.json"
Z <- qnorm(0.975)
#: Study landmarks: 1, 3 and 5 years of 365.25 days (pipelines/spec.py defaults).
STUDY_LANDMARKS_DAYS <- c(1, 3, 5) * 365.25

# Doubles verbatim (%.17g); jsonlite's own writer stops at 15 significant digits.
json_number <- function(x) {
    stopifnot(length(x) == 1, is.finite(x))
    structure(sprintf("%.17g", x), class = "json")
}
json_null <- structure("null", class = "json")
json_numbers <- function(x) {
    stopifnot(all(is.finite(x)))
    structure(paste0("[", paste(sprintf("%.17g", x), collapse = ","), "]"), class = "json")
}

# --- data -------------------------------------------------------------------------------

textbook <- function(name) read.csv(file.path("tests/data/textbook", paste0(name, ".csv")))

# A raw-contract cohort as one row per patient: OS as in dbt's
# int_patient_endpoints_derived (diagnosis -> death; otherwise censored at last
# follow-up; no data cut-off) and one marker's value from expression.csv (long format).
cohort_os <- function(folder, marker) {
    patients <- read.csv(file.path(folder, "patients.csv"), na.strings = "")
    expression <- read.csv(file.path(folder, "expression.csv"), na.strings = "")
    end_date <- ifelse(is.na(patients$death_date), patients$last_followup_date,
                       patients$death_date)
    values <- expression[expression$gene == marker, c("patient_id", "value")]
    stopifnot(!anyDuplicated(values$patient_id))
    frame <- data.frame(
        time = as.numeric(as.Date(end_date) - as.Date(patients$diagnosis_date)),
        event = as.numeric(!is.na(patients$death_date)),
        value = values$value[match(patients$patient_id, values$patient_id)]
    )
    frame[complete.cases(frame), ]
}

# Groups as analysis/groups.py: R type 7 quantiles of the patients with a value; a value
# equal to a cut point belongs to the lower group.
quantile_groups <- function(value, probs, labels) {
    cuts <- unname(quantile(value, probs, type = 7))
    list(group = labels[findInterval(value, cuts, left.open = TRUE) + 1], cuts = cuts)
}

cohort_note <- function(folder, marker, labels, cuts) sprintf(
    paste(
        "%s: one row per patient with a %s value; time = death_date (else",
        "last_followup_date) minus diagnosis_date in days, event = 1 if death_date is",
        "present; groups %s split at the R type 7 quantiles %s of %s (a value equal to a",
        "cut point is in the lower group)."
    ),
    folder, marker, paste(labels, collapse = ", "),
    paste(sprintf("%.17g", cuts), collapse = ", "), marker
)

# --- survRM2's rules, transcribed from R/rmst2.R ------------------------------------------

# The default tau of rmst2 for arm 1 vs arm 0, which is also the largest tau it accepts.
rmst2_default_tau <- function(time, status, arm) {
    idx <- arm == 0; tt <- time[idx]; tt0max <- max(tt); ss <- status[idx]
    ss0max <- min(ss[tt == tt0max])
    idx <- arm == 1; tt <- time[idx]; tt1max <- max(tt); ss <- status[idx]
    ss1max <- min(ss[tt == tt1max])
    ttmax <- max(tt0max, tt1max)
    ttmin <- min(tt0max, tt1max)
    if (ss0max == 1 & ss1max == 1) return(ttmax)                                # case 1
    if ((ss0max == 0 & ss1max == 1 & tt0max >= tt1max) |
        (ss0max == 1 & ss1max == 0 & tt1max > tt0max)) return(ttmax)             # case 2
    if ((ss0max == 1 & ss1max == 0 & tt0max >= tt1max) |
        (ss0max == 0 & ss1max == 1 & tt1max > tt0max)) return(ttmin)             # case 3
    ttmin                                                                        # case 4
}

rmst2_contrast <- function(r1, v1, r0, v0) {
    difference <- r1 - r0
    difference_se <- sqrt(v1 + v0)
    log_ratio <- log(r1) - log(r0)
    log_ratio_se <- sqrt(v1 / r1 / r1 + v0 / r0 / r0)
    list(
        difference = difference,
        difference_se = difference_se,
        difference_lower = difference - Z * difference_se,
        difference_upper = difference + Z * difference_se,
        difference_p = pnorm(-abs(difference) / difference_se) * 2,
        ratio = exp(log_ratio),
        log_ratio_se = log_ratio_se,
        ratio_lower = exp(log_ratio - Z * log_ratio_se),
        ratio_upper = exp(log_ratio + Z * log_ratio_se),
        ratio_p = pnorm(-abs(log_ratio) / log_ratio_se) * 2
    )
}

have_survrm2 <- requireNamespace("survRM2", quietly = TRUE)
check_against_survrm2 <- function(time, status, arm, tau, ours) {
    if (!have_survrm2) return(invisible(NULL))
    theirs <- survRM2::rmst2(time, status, arm, tau = tau)$unadjusted.result
    stopifnot(
        isTRUE(all.equal(unname(theirs[1, ]), c(ours$difference, ours$difference_lower,
                                                ours$difference_upper, ours$difference_p),
                         tolerance = 1e-12)),
        isTRUE(all.equal(unname(theirs[2, ]), c(ours$ratio, ours$ratio_lower,
                                                ours$ratio_upper, ours$ratio_p),
                         tolerance = 1e-12))
    )
}

# --- horizons: which taus each case is evaluated at, by rule -------------------------------

horizons <- function(time, event, group, group_order, landmarks) {
    ends_in_event <- sapply(group_order, function(g) {
        last <- max(time[group == g])
        all(event[group == g & time == last] == 1)
    })
    last_time <- sapply(group_order, function(g) max(time[group == g]))
    # survRM2's bound for all contrasts at once: the smallest of its bounds for each
    # group paired with the reference.
    allowed <- min(sapply(group_order[-1], function(g) {
        pair <- group %in% c(group_order[1], g)
        rmst2_default_tau(time[pair], event[pair], as.numeric(group[pair] == g))
    }))
    distinct <- sort(unique(time))
    event_times <- sort(unique(time[event == 1 & time > 0 & time < allowed]))
    tied <- unlist(lapply(group_order, function(g) {
        counts <- table(time[group == g & event == 1])
        as.numeric(names(counts)[counts >= 2])
    }))
    tied <- tied[tied > 0 & tied < allowed]
    at_event <- event_times[ceiling(length(event_times) / 2)]
    after <- distinct[distinct > 0.4 * allowed][1]
    between <- (max(distinct[distinct < after]) + after) / 2
    taus <- list(
        list(role = "event_time", tau = at_event),
        list(role = "between_times", tau = between),
        list(role = "rmst2_default", tau = allowed)
    )
    if (length(tied)) taus <- c(taus, list(list(role = "tied_events", tau = max(tied))))
    fit <- survfit(Surv(time, event) ~ factor(group, levels = group_order))
    reached <- sapply(landmarks, function(t) {
        all(summary(fit, times = t, extend = TRUE)$n.risk >= 1)
    })
    for (t in landmarks[landmarks <= allowed]) {
        taus <- c(taus, list(list(role = "landmark", tau = t)))
    }
    list(
        taus = taus,
        default_tau = if (any(reached)) max(landmarks[reached]) else NULL,
        allowed = allowed,
        followup = lapply(group_order, function(g) list(
            group = g, last_time = json_number(last_time[[g]]),
            last_is_event = unname(ends_in_event[[g]])
        ))
    )
}

# --- one case ---------------------------------------------------------------------------

rmst_case <- function(id, description, time, event, group, group_order, landmarks) {
    stopifnot(all(group %in% group_order), all(group_order %in% group))
    data <- data.frame(time = time, event = event,
                       group = factor(group, levels = group_order))
    fit <- survfit(Surv(time, event) ~ group, data = data)
    plan <- horizons(time, event, group, group_order, landmarks)
    evaluate <- function(item) {
        table <- summary(fit, rmean = item$tau)$table
        rownames(table) <- sub("^group=", "", rownames(table))
        groups <- lapply(group_order, function(g) list(
            group = g,
            n = unname(table[g, "records"]),
            events = unname(table[g, "events"]),
            rmean = json_number(table[g, "rmean"]),
            se_rmean = json_number(table[g, "se(rmean)"])
        ))
        contrasts <- lapply(group_order[-1], function(g) {
            reference <- group_order[1]
            pair <- group %in% c(reference, g)
            arm <- as.numeric(group[pair] == g)
            bound <- rmst2_default_tau(time[pair], event[pair], arm)
            if (item$tau > bound) return(NULL)  # rmst2 stops: "needs to be shorter than ..."
            values <- rmst2_contrast(table[g, "rmean"], table[g, "se(rmean)"]^2,
                                     table[reference, "rmean"], table[reference, "se(rmean)"]^2)
            check_against_survrm2(time[pair], event[pair], arm, item$tau, values)
            c(list(group = g, reference = reference), lapply(values, json_number))
        })
        list(tau_days = json_number(item$tau), role = item$role, groups = groups,
             contrasts = Filter(Negate(is.null), contrasts))
    }
    list(
        id = id,
        description = description,
        input = list(time = json_numbers(time), event = json_numbers(event), group = group,
                     group_order = group_order),
        landmarks_days = json_numbers(landmarks),
        default_tau_days = if (is.null(plan$default_tau)) json_null
                           else json_number(plan$default_tau),
        rmst2_max_tau_days = json_number(plan$allowed),
        followup = plan$followup,
        taus = lapply(plan$taus, evaluate)
    )
}

# --- cases ------------------------------------------------------------------------------

aml <- textbook("aml")
ovarian <- textbook("ovarian")
lung <- textbook("lung")
lung_ecog <- lung[!is.na(lung$ph.ecog), ]
uams <- cohort_os("examples/uams_gse24080_mm", "B2M")
uams_q1 <- quantile_groups(uams$value, 0.25, c("Q1", "Q2-Q4"))
mgus2 <- cohort_os("tests/data/mgus2", "hgb")
mgus2_q1 <- quantile_groups(mgus2$value, 0.25, c("Q1", "Q2-Q4"))
mgus2_quartiles <- quantile_groups(mgus2$value, c(0.25, 0.5, 0.75), c("Q1", "Q2", "Q3", "Q4"))

cases <- list(
    rmst_case("aml_x",
              paste("tests/data/textbook/aml.csv; group x, reference 'Maintained'.",
                    "Nonmaintained ends in an event (day 45), so survRM2 allows tau up to",
                    "Maintained's last (censored) time 161"),
              aml$time, aml$status, as.character(aml$x), c("Maintained", "Nonmaintained"),
              c(30, 60, 90, 180)),
    rmst_case("ovarian_rx",
              "tests/data/textbook/ovarian.csv; futime, fustat; group rx '1' (reference), '2'",
              ovarian$futime, ovarian$fustat, as.character(ovarian$rx), c("1", "2"),
              STUDY_LANDMARKS_DAYS),
    rmst_case("lung_sex",
              paste("tests/data/textbook/lung.csv; event = status == 2; group sex 1 =",
                    "'male' (reference), 2 = 'female'; many tied times"),
              lung$time, as.numeric(lung$status == 2),
              ifelse(lung$sex == 1, "male", "female"), c("male", "female"),
              c(0.5, 1, 2) * 365.25),
    rmst_case("lung_ecog",
              paste("tests/data/textbook/lung.csv without the row missing ph.ecog; event =",
                    "status == 2; group ph.ecog '0' (reference), '1', '2', '3' ('3' is one",
                    "patient who died on day 118: se(rmean) 0)"),
              lung_ecog$time, as.numeric(lung_ecog$status == 2),
              as.character(lung_ecog$ph.ecog), c("0", "1", "2", "3"),
              c(0.5, 1, 2) * 365.25),
    rmst_case("uams_os_b2m_q1",
              cohort_note("examples/uams_gse24080_mm", "B2M", c("Q1", "Q2-Q4"), uams_q1$cuts),
              uams$time, uams$event, uams_q1$group, c("Q1", "Q2-Q4"), STUDY_LANDMARKS_DAYS),
    rmst_case("mgus2_os_hgb_q1",
              cohort_note("tests/data/mgus2", "hgb", c("Q1", "Q2-Q4"), mgus2_q1$cuts),
              mgus2$time, mgus2$event, mgus2_q1$group, c("Q1", "Q2-Q4"),
              c(STUDY_LANDMARKS_DAYS, 10 * 365.25)),
    rmst_case("mgus2_os_hgb_quartiles",
              cohort_note("tests/data/mgus2", "hgb", c("Q1", "Q2", "Q3", "Q4"),
                          mgus2_quartiles$cuts),
              mgus2$time, mgus2$event, mgus2_quartiles$group, c("Q1", "Q2", "Q3", "Q4"),
              c(STUDY_LANDMARKS_DAYS, 10 * 365.25))
)

reference <- list(
    source = paste(
        "R survival summary(survfit(Surv(time, event) ~ group), rmean = tau)$table",
        "rmean and se(rmean); contrasts with survRM2::rmst2's unadjusted formulas",
        "(transcribed; qnorm(0.975)); written by tests/reference/r/rmst.R"
    ),
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    tau_roles = list(
        event_time = "a pooled event time (the middle one below the rmst2 bound)",
        between_times = "midway between two consecutive distinct times near 0.4 x the bound",
        rmst2_default = "survRM2's default tau: the largest it accepts for every contrast",
        tied_events = "the last time below the bound with >= 2 events in one group",
        landmark = "each landmark at or below the bound"
    ),
    cases = cases
)
writeLines(toJSON(reference, auto_unbox = TRUE, json_verbatim = TRUE, pretty = TRUE),
           output_path)
cat("wrote", output_path, "with", length(cases), "cases;",
    if (have_survrm2) paste("checked against survRM2", packageVersion("survRM2"))
    else "survRM2 not installed: contrasts from its transcribed formulas only", "\n")
