/// Admission: AdmissionReview handling (filled by the Admission issue).
