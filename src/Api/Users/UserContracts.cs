using System.ComponentModel.DataAnnotations;

namespace Api.Users;

public sealed record CreateUserRequest(
    [property: Required, StringLength(User.NameMaxLength, MinimumLength = 1)] string Name,
    [property: Required, EmailAddress, StringLength(User.EmailMaxLength)] string Email);

public sealed record UserResponse(Guid Id, string Name, string Email, DateTimeOffset CreatedAt)
{
    public static UserResponse From(User user) => new(user.Id, user.Name, user.Email, user.CreatedAt);
}

public sealed record PageResponse<T>(IReadOnlyList<T> Items, int Page, int PageSize, int Total);
