# Reference values for analysis/continuous.py: Cox models of a continuous biomarker.
#
# Provenance: R's `survival` package (Therneau) coxph(), Efron ties, and Harrell's `rms`
# (cph, rcs, Predict) with the restricted cubic spline basis of Hmisc::rcspline.eval.
# For every case:
#   - linear: coxph(Surv(time, event) ~ x): coef, se, exp(coef), exp(confint), Wald p
#     (summary's Pr(>|z|)), both log-likelihoods, the likelihood-ratio test (df 1);
#   - per SD: the same model fitted on x / sd(x) (sample SD), an independent fit, not
#     the per-unit values multiplied by the SD;
#   - spline: knots = quantile(x, probs, type = 7) with Harrell's default probabilities
#     (3 knots .10/.50/.90, 4 knots .05/.35/.65/.95, 5 knots .05/.275/.50/.725/.95),
#     basis = rcspline.eval(x, knots = knots, inclx = TRUE) (normalised by
#     (t_k - t_1)^2, as rcs() in rms), coxph on the basis: overall LR test (df k - 1) and
#     anova(linear, spline) = LR test of non-linearity (df k - 2);
#   - partial effect: rms::cph(Surv(time, event) ~ rcs(x, knots)) and
#     Predict(fit, x = values, ref.zero = TRUE): the log relative hazard against the
#     median of x (datadist's adjust-to value) with its pointwise 95% interval, at the
#     type 7 1/10/25/50/75/90/99% quantiles and the minimum and maximum.
#
# Inputs (all in this repository, nothing downloaded):
#   examples/uams_gse24080_mm/{patients,expression}.csv  GEO GSE24080 myeloma (raw contract)
#   tests/data/mgus2/{patients,expression}.csv           R survival's mgus2 (raw contract)
#   tests/data/textbook/lung.csv                         R survival's lung data set
# Output: tests/reference/r/continuous.json, numbers with 17 significant digits (an exact
# round trip of doubles). Each case holds the exact x, time and event vectors R used and
# says in "data" how they were derived, so the Python test rebuilds nothing.
#
# Run from the repository root:  Rscript tests/reference/r/continuous.R
# Deterministic: no random numbers, no dates of the run in the output.

suppressPackageStartupMessages({
    library(survival)
    library(rms)
    library(jsonlite)
})

stopifnot(file.exists("tests/data/textbook/lung.csv"))  # run from the repository root
output_path <- "tests/reference/r/continuous.json"

# Tighter than coxph's default eps = 1e-9 (see cox_zph.R): 1e-11 is the tightest eps
# above coxph's toler.chol. cph's own defaults (eps = 1e-4, tol = 1e-9) would stop too
# early; cph is given the same eps and coxph's default toler.chol.
control <- coxph.control(eps = 1e-11, iter.max = 50)

knot_probabilities <- list(
    "3" = c(0.10, 0.50, 0.90),
    "4" = c(0.05, 0.35, 0.65, 0.95),
    "5" = c(0.05, 0.275, 0.50, 0.725, 0.95)
)
effect_probabilities <- c(0.01, 0.10, 0.25, 0.50, 0.75, 0.90, 0.99)

# --- exact JSON numbers -------------------------------------------------------------------

# Numeric vectors and matrices as verbatim JSON with %.17g (jsonlite's own writer stops at
# 15 significant digits); NA becomes null.
json_number_text <- function(x) {
    stopifnot(all(is.na(x) | is.finite(x)))
    ifelse(is.na(x), "null", sprintf("%.17g", x))
}
json_array <- function(x) {
    structure(paste0("[", paste(json_number_text(x), collapse = ","), "]"), class = "json")
}
json_scalar <- function(x) {
    stopifnot(length(x) == 1L)
    structure(json_number_text(x), class = "json")
}
json_matrix <- function(m) {
    rows <- apply(m, 1, function(row) paste0("[", paste(json_number_text(row), collapse = ","),
                                             "]"))
    structure(paste0("[", paste(rows, collapse = ","), "]"), class = "json")
}

# --- data -------------------------------------------------------------------------------

# A raw-contract cohort as one row per patient: OS as in dbt's int_patient_endpoints_derived
# (diagnosis -> death; otherwise censored at last follow-up; no data cut-off) and one
# marker's delivered value; patients without a value or follow-up are dropped.
cohort <- function(folder, marker) {
    patients <- read.csv(file.path(folder, "patients.csv"), na.strings = "")
    expression <- read.csv(file.path(folder, "expression.csv"), na.strings = "")
    end_date <- ifelse(is.na(patients$death_date), patients$last_followup_date,
                       patients$death_date)
    values <- expression[expression$gene == marker, c("patient_id", "value")]
    stopifnot(!anyDuplicated(values$patient_id))
    frame <- data.frame(
        patient_id = patients$patient_id,
        time = as.numeric(as.Date(end_date) - as.Date(patients$diagnosis_date)),
        event = as.numeric(!is.na(patients$death_date)),
        x = values$value[match(patients$patient_id, values$patient_id)]
    )
    frame <- frame[order(frame$patient_id), ]
    frame[complete.cases(frame[, c("time", "event", "x")]), ]
}
cohort_note <- function(folder, marker, extra = "") paste0(
    folder, ": one row per patient, sorted by patient_id; time = death_date (else ",
    "last_followup_date) minus diagnosis_date in days, event = 1 if death_date is present; ",
    "x = the '", marker, "' value of expression.csv", extra,
    "; patients without a value are dropped."
)

lung <- read.csv("tests/data/textbook/lung.csv")
lung_frame <- function(column, extra_note = "") {
    frame <- data.frame(time = lung$time, event = as.numeric(lung$status == 2),
                        x = lung[[column]])
    list(
        frame = frame[complete.cases(frame), ],
        note = paste0("tests/data/textbook/lung.csv in file order; event = 1 if status ",
                      "== 2 (Surv's 1/2 coding); x = ", column, extra_note,
                      "; rows with x missing are dropped.")
    )
}

uams_folder <- "examples/uams_gse24080_mm"
uams_b2m <- cohort(uams_folder, "B2M")
uams_log2_b2m <- transform(uams_b2m, x = log2(x) - 2)
uams_first60 <- head(uams_b2m, 60)

# --- one case -------------------------------------------------------------------------------

wald <- function(fit) {
    table <- summary(fit)$coefficients
    interval <- exp(confint(fit, level = 0.95))
    list(
        coef = json_scalar(table[1, "coef"]),
        se = json_scalar(table[1, "se(coef)"]),
        hazard_ratio = json_scalar(table[1, "exp(coef)"]),
        hr_ci_lower = json_scalar(interval[1, 1]),
        hr_ci_upper = json_scalar(interval[1, 2]),
        wald_p = json_scalar(table[1, "Pr(>|z|)"]),
        loglik_null = json_scalar(fit$loglik[1]),
        loglik = json_scalar(fit$loglik[2]),
        lr_statistic = json_scalar(2 * (fit$loglik[2] - fit$loglik[1])),
        lr_df = 1L,
        lr_p = json_scalar(pchisq(2 * (fit$loglik[2] - fit$loglik[1]), 1, lower.tail = FALSE))
    )
}

continuous_case <- function(name, data_note, frame, n_knots) {
    frame <- frame[, c("time", "event", "x")]
    rownames(frame) <- NULL
    probabilities <- knot_probabilities[[as.character(n_knots)]]
    knots <- unname(quantile(frame$x, probabilities, type = 7))
    stopifnot(!anyDuplicated(knots))
    standard_deviation <- sd(frame$x)

    linear <- coxph(Surv(time, event) ~ x, data = frame, ties = "efron", control = control)
    per_sd <- coxph(Surv(time, event) ~ I(x / standard_deviation), data = frame,
                    ties = "efron", control = control)
    basis <- rcspline.eval(frame$x, knots = knots, inclx = TRUE)
    spline <- coxph(Surv(time, event) ~ basis, data = frame, ties = "efron",
                    control = control)
    nonlinearity <- anova(linear, spline)
    overall <- 2 * (spline$loglik[2] - spline$loglik[1])

    # The partial effect by rms, independently of the basis arithmetic above.
    assign("continuous_datadist", datadist(frame), envir = globalenv())
    options(datadist = "continuous_datadist")
    harrell <- cph(Surv(time, event) ~ rcs(x, knots), data = frame, method = "efron",
                   eps = control$eps, tol = control$toler.chol, iter.max = control$iter.max,
                   x = TRUE, y = TRUE)
    stopifnot(isTRUE(all.equal(unname(harrell$loglik), spline$loglik, tolerance = 1e-9)))
    reference_value <- continuous_datadist$limits["Adjust to", "x"]
    stopifnot(isTRUE(all.equal(reference_value, median(frame$x))))
    at <- unique(c(unname(quantile(frame$x, effect_probabilities, type = 7)),
                   min(frame$x), max(frame$x)))
    effect <- as.data.frame(Predict(harrell, x = at, ref.zero = TRUE, conf.int = 0.95))
    effect <- effect[match(at, effect$x), ]
    stopifnot(isTRUE(all.equal(effect$x, at)))
    # Predict's default conf.type = "mean" is the pointwise Wald interval of the linear
    # predictor: recover its standard error from the interval's half-width.
    effect_se <- (effect$upper - effect$lower) / (2 * qnorm(0.975))

    list(
        name = name,
        data = data_note,
        n = linear$n,
        events = linear$nevent,
        x = json_array(frame$x),
        time = json_array(frame$time),
        event = json_array(frame$event),
        per_unit = wald(linear),
        per_sd = c(list(sd = json_scalar(standard_deviation)), wald(per_sd)),
        rcs = list(
            n_knots = n_knots,
            probabilities = json_array(probabilities),
            knots = json_array(knots),
            basis = json_matrix(unclass(basis)[, , drop = FALSE]),
            coef = json_array(unname(spline$coefficients)),
            variance = json_matrix(unname(spline$var)),
            loglik = json_scalar(spline$loglik[2]),
            lr_statistic = json_scalar(overall),
            lr_df = n_knots - 1L,
            lr_p = json_scalar(pchisq(overall, n_knots - 1L, lower.tail = FALSE)),
            nonlinearity_statistic = json_scalar(nonlinearity$Chisq[2]),
            nonlinearity_df = nonlinearity$Df[2],
            nonlinearity_p = json_scalar(nonlinearity[["Pr(>|Chi|)"]][2])
        ),
        partial_effect = list(
            reference_value = json_scalar(reference_value),
            value = json_array(effect$x),
            log_hr = json_array(effect$yhat),
            se = json_array(effect_se),
            ci_lower = json_array(effect$lower),
            ci_upper = json_array(effect$upper)
        )
    )
}

# --- cases ----------------------------------------------------------------------------------

uams_case <- function(marker, n_knots, frame = cohort(uams_folder, marker), extra = "") {
    continuous_case(sprintf("uams_%s_os_k%d", tolower(marker), n_knots),
                    cohort_note(uams_folder, marker, extra), frame, n_knots)
}
mgus2_case <- function(marker, n_knots) {
    continuous_case(sprintf("mgus2_%s_os_k%d", marker, n_knots),
                    cohort_note("tests/data/mgus2", marker), cohort("tests/data/mgus2", marker),
                    n_knots)
}
lung_case <- function(column, n_knots) {
    data <- lung_frame(column)
    continuous_case(sprintf("lung_%s_k%d", gsub(".", "_", column, fixed = TRUE), n_knots),
                    data$note, data$frame, n_knots)
}

cases <- list(
    uams_case("B2M", 4),
    uams_case("B2M", 3),
    uams_case("B2M", 5),
    uams_case("ALB", 4),
    uams_case("LDH", 4),
    continuous_case("uams_log2_b2m_minus_2_os_k4",
                    cohort_note(uams_folder, "B2M", ", then log2(value) - 2 (negative values)"),
                    uams_log2_b2m, 4),
    continuous_case("uams_b2m_first60_os_k4",
                    cohort_note(uams_folder, "B2M", "; only the first 60 patients"),
                    uams_first60, 4),
    mgus2_case("hgb", 4),
    mgus2_case("creat", 4),
    lung_case("age", 4),
    lung_case("age", 3),
    lung_case("ph.karno", 4),
    lung_case("wt.loss", 5)
)

reference <- list(
    source = paste(
        "R survival coxph (Efron, control = coxph.control(eps = 1e-11, iter.max = 50)) on x,",
        "x / sd(x) and Hmisc::rcspline.eval(x, knots = quantile(x, probs, type = 7),",
        "inclx = TRUE); anova(linear, spline); rms::cph(eps = 1e-11) with rcs(x, knots) and",
        "Predict(ref.zero = TRUE); written by tests/reference/r/continuous.R"
    ),
    numbers = "17 significant digits",
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    rms_version = as.character(packageVersion("rms")),
    hmisc_version = as.character(packageVersion("Hmisc")),
    cases = cases
)
writeLines(toJSON(reference, auto_unbox = TRUE, json_verbatim = TRUE, pretty = FALSE),
           output_path)
cat("wrote", output_path, "with", length(cases), "cases\n")
