namespace Api.Users;

// Display names are the JSON names, so that validation messages say "The name field is required." about the field
// the client sent (the keys of "errors" are converted by the JSON options, see Errors/ErrorHandlingExtensions.cs).
// The validation source generator reads [Display] from the constructor parameter, the rules from the property.
public sealed record CreateUserRequest(
    [property: Required, StringLength(User.NameMaxLength, MinimumLength = 1), PrintableText] [Display(Name = "name")] string Name,
    [property: Required, StringLength(User.EmailMaxLength), PrintableText, DeliverableEmail] [Display(Name = "email")] string Email);

public sealed record UserResponse(Guid Id, string Name, string Email, DateTimeOffset CreatedAt)
{
    public static UserResponse From(User user) => new(user.Id, user.Name, user.Email, user.CreatedAt);
}

/// <summary>
/// A page of the list. <c>Page</c> is the number asked for with <c>page</c>, null on a page asked for with <c>after</c>;
/// <c>Next</c> is the link to the following page (null on the last one), always by <c>after</c>, whichever way this one
/// was asked for; <c>TotalIsEstimate</c> says <c>Total</c> is the database's estimate (UserTotal.cs).
/// </summary>
public sealed record PageResponse<T>(
    IReadOnlyList<T> Items,
    int? Page,
    int PageSize,
    int Total,
    bool TotalIsEstimate,
    string? Next);
